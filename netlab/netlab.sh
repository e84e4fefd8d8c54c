#!/usr/bin/env bash
# netlab: a tiny internet built from Linux network namespaces, so that tests can put real
# `ejtp` processes behind real NATs on one machine. Needs root, iproute2 and nftables
# (conntrack-tools optional, see flush-nat). Only documentation and shared address space is
# used, inside namespaces that have no link to the host: nothing here reaches, or can be
# reached from, the outside.
#
#   netlab.sh up [--nat-a cone|symmetric] [--nat-b cone|symmetric] [--mtu N] [--drop-fragments]
#   netlab.sh down
#   netlab.sh flush-nat a|b
#   netlab.sh exec pub|a|b|nat-a|nat-b COMMAND...   (or: ip netns exec $NETLAB_PREFIX-a ...)
#
# Namespaces are named PREFIX-NAME, PREFIX from $NETLAB_PREFIX (default ejtplab; letters,
# digits and '-'), so each test can have its own lab and a lab left over by a crashed run
# never collides with a new one. Interfaces are created directly inside the namespaces with
# short fixed names (wan, lan, and the bridge ports), so the prefix never reaches the 15-byte
# interface-name limit and two labs never share an interface name.
#
#              PREFIX-inet: bridge br0, the "internet" 198.51.100.0/24
#        .----------------------+-------------------------.
#   PREFIX-pub              PREFIX-nat-a                PREFIX-nat-b
#   wan 198.51.100.1        wan 198.51.100.10           wan 198.51.100.20
#   (public host)           lan 100.64.1.1              lan 100.64.2.1
#                                |                           |
#                           PREFIX-a                    PREFIX-b
#                           lan 100.64.1.2              lan 100.64.2.2
#                           default via 100.64.1.1      default via 100.64.2.1
#
# pub has no default route: it reaches the routers' public addresses only, as a host on the
# internet would, and a packet to a private 100.64.x address fails there.
#
# Options of `up` (a previous lab with the same prefix is taken down first):
#   --nat-a, --nat-b KIND  the router's NAT (default cone):
#       cone       masquerade keeping the source port when it is free: one public port per
#                  private socket whatever the destination (endpoint-independent mapping),
#                  behind a stateful firewall that admits only replies to what went out.
#                  The usual home router; hole punching can work through it.
#       symmetric  masquerade fully-random: a new random public port for every destination,
#                  so the port a peer sees is useless to anyone else. Hole punching fails.
#   --mtu N            every link (and the bridge) gets MTU N, e.g. 1280, the IPv6 minimum.
#   --drop-fragments   both routers drop IP fragments before conntrack reassembles them, as
#                      many real paths do: a datagram larger than the MTU is lost.
#
# flush-nat a|b: the router forgets every NAT mapping and firewall state, as a router reboot
# or a state timeout would. With conntrack-tools it is `conntrack -F`; without, the router's
# WAN link is taken down and up, which makes masquerade drop the entries bound to it
# (deleting the nft tables would not: conntrack keeps the mappings it already made). The next
# packet out gets a fresh mapping (the same port again behind cone when it is free, a new
# random one behind symmetric); until then, packets from outside to the old mapping are
# dropped.
set -Eeuo pipefail

P=${NETLAB_PREFIX:-ejtplab}
if ! [[ $P =~ ^[A-Za-z0-9][A-Za-z0-9-]{0,31}$ ]]; then
  echo "netlab: NETLAB_PREFIX must be 1 to 32 letters, digits or '-': $P" >&2
  exit 2
fi
HOSTS="inet pub nat-a nat-b a b"

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

lab_down() {
  local h
  for h in $HOSTS; do ip netns del "$P-$h" 2>/dev/null || true; done
}

# inside NAME COMMAND...: runs COMMAND in the namespace PREFIX-NAME.
inside() { local h=$1; shift; ip netns exec "$P-$h" "$@"; }

# router_rules NAME KIND DROP_FRAGMENTS: the NAT, the firewall and the fragment filter.
router_rules() {
  local flags="" fragments=""
  [ "$2" = symmetric ] && flags=" fully-random"
  # Priority -450 runs before conntrack's defragmentation (-400), so no fragment is ever
  # reassembled into a datagram that could pass.
  [ "$3" = 1 ] && fragments="
table ip netlab_raw {
  chain prerouting {
    type filter hook prerouting priority -450; policy accept;
    ip frag-off & 0x3fff != 0 drop
  }
}"
  inside "$1" nft -f - <<RULES
table ip netlab_nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" masquerade$flags
  }
}
table ip netlab_filter {
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "wan" ct state new drop
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan" oifname "wan" accept
  }
}
$fragments
RULES
}

lab_up() {
  local nat_a=cone nat_b=cone mtu=1500 fragments=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --nat-a|--nat-b)
        [ $# -ge 2 ] && [[ $2 =~ ^(cone|symmetric)$ ]] || {
          echo "netlab: $1 takes cone or symmetric" >&2; exit 2; }
        if [ "$1" = --nat-a ]; then nat_a=$2; else nat_b=$2; fi
        shift 2 ;;
      --mtu)
        [ $# -ge 2 ] && [[ $2 =~ ^[0-9]+$ ]] && [ "$2" -ge 576 ] || {
          echo "netlab: --mtu takes a number of bytes, at least 576" >&2; exit 2; }
        mtu=$2; shift 2 ;;
      --drop-fragments) fragments=1; shift ;;
      *) echo "netlab: unknown option $1" >&2; usage ;;
    esac
  done
  lab_down
  trap 'lab_down; echo "netlab: up failed; lab $P removed" >&2' ERR

  local h
  for h in $HOSTS; do
    ip netns add "$P-$h"
    ip -n "$P-$h" link set lo up
  done
  ip -n "$P-inet" link add br0 mtu "$mtu" type bridge
  ip -n "$P-inet" link set br0 up

  # The public side: pub and the routers' WAN ends are ports of the bridge.
  local addr
  for h in pub:198.51.100.1 nat-a:198.51.100.10 nat-b:198.51.100.20; do
    addr=${h#*:} h=${h%%:*}
    ip -n "$P-$h" link add wan mtu "$mtu" type veth peer name "$h" mtu "$mtu" netns "$P-inet"
    ip -n "$P-inet" link set "$h" master br0 up
    ip -n "$P-$h" addr add "$addr/24" dev wan
    ip -n "$P-$h" link set wan up
  done

  # The private sides: each host on its own link to its router.
  local net
  for h in a:1 b:2; do
    net=${h#*:} h=${h%%:*}
    ip -n "$P-nat-$h" link add lan mtu "$mtu" type veth peer name lan mtu "$mtu" netns "$P-$h"
    ip -n "$P-nat-$h" addr add "100.64.$net.1/24" dev lan
    ip -n "$P-nat-$h" link set lan up
    ip -n "$P-$h" addr add "100.64.$net.2/24" dev lan
    ip -n "$P-$h" link set lan up
    ip -n "$P-$h" route add default via "100.64.$net.1"
    inside "nat-$h" sysctl -qw net.ipv4.ip_forward=1
  done
  router_rules nat-a "$nat_a" "$fragments"
  router_rules nat-b "$nat_b" "$fragments"
  trap - ERR
  echo "netlab $P up: nat-a $nat_a, nat-b $nat_b, mtu $mtu, drop fragments $fragments"
}

flush_nat() {
  [ $# -eq 1 ] && [[ $1 =~ ^(a|b)$ ]] || { echo "netlab: flush-nat takes a or b" >&2; exit 2; }
  if command -v conntrack >/dev/null; then
    inside "nat-$1" conntrack -F 2>/dev/null
  else
    inside "nat-$1" ip link set wan down
    inside "nat-$1" ip link set wan up
  fi
  echo "netlab $P: nat-$1 forgot its mappings"
}

case "${1:-}" in
  up) shift; lab_up "$@" ;;
  down) lab_down; echo "netlab $P down" ;;
  flush-nat) shift; flush_nat "$@" ;;
  exec) [ $# -ge 3 ] || usage; shift; inside "$@" ;;
  *) usage ;;
esac
