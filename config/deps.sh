#!/bin/sh
# Checks every package in config/debian-packages; as root, installs what is
# missing with apt-get; otherwise prints the exact command and fails.
set -u
list=${1:-config/debian-packages}
missing=""
while read -r pkg check; do
	case "$pkg" in ''|'#'*) continue ;; esac
	kind=${check%%:*}
	name=${check#*:}
	case "$kind" in
	pc)  pkg-config --exists "$name" 2>/dev/null ;;
	bin) command -v "$name" >/dev/null 2>&1 ;;
	deb) dpkg-query -W -f='${Status}' "$name" 2>/dev/null | grep -q 'ok installed' ;;
	*)   echo "deps: $list: unknown check '$check' for $pkg" >&2; exit 2 ;;
	esac || missing="$missing $pkg"
done < "$list"

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing Debian packages; install them as root with:" >&2
	echo "  apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
echo "deps: installing:$missing"
# A fresh machine has empty package lists; update once, then install.
if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial)" ]; then
	apt-get update -qq || exit 1
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing ||
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing; }
