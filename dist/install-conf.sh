#!/bin/sh
# meson install script: install the default configuration only when there
# is none, so that `meson install` never overwrites an admin's file.
# Usage: install-conf.sh SOURCE DIR  (DIR absolute; $DESTDIR honoured)
set -eu
src=$1
dir=${DESTDIR:-}$2
dest=$dir/xdpseg.conf
if [ -e "$dest" ] || [ -L "$dest" ]; then
	echo "Keeping $dest (it exists; the default is $src)" >&2
	exit 0
fi
install -d -m 0755 "$dir"
install -m 0644 "$src" "$dest"
echo "Installing $src to $dest" >&2
