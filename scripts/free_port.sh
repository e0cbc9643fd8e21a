# free_port: prints a TCP port nothing listens on at 127.0.0.1 (checked by
# connecting), below the kernel's ephemeral range: a port in that range can
# be the local end of some connection, and a server would then fail to bind
# it although nothing listens. Sourced by bench/lib.sh and tests/docs.
# shellcheck shell=bash
free_port() {
  local p low
  low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  [ "$low" -gt 12000 ] || low=32768
  while :; do
    p=$((10000 + RANDOM % (low - 10000)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
}
