//! Vector files for proto-core and the runner that replays them (see `README.md` here).
