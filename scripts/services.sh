#!/usr/bin/env bash
# scripts/services.sh up [--bench]|down [--purge]|status|env
#
# Test services for RemoteGPU, no systemd needed:
#   - a private dockerd (own data-root, exec-root, socket and pidfile under the state dir);
#   - three images built with `docker import` (no registry): remotegpu/busybox (sh, httpd, nc...),
#     remotegpu/sshd (the host's OpenSSH sshd + sftp-server + scp, root by key only;
#     SSH_AUTHORIZED_KEYS at run time is appended to root's authorized_keys) and remotegpu/stock
#     (a glibc userland like ML images: bash, python3, coreutils, git, tmux, no OpenSSH nor rsync);
#   - an image registry (Debian's docker-registry) on 127.0.0.1:27900 with deletes enabled, where environments are
#     saved as images; dockerd treats loopback registries as insecure (plain HTTP) by default;
#   - a "physical machine": the host's sshd on 127.0.0.2:2222 with its own host key, config
#     and client key pair (plus $EXTRA_AUTHORIZED_KEYS, plus the keys listed in $DIR/physical/enrolled_keys:
#     `npm start` adds its relay's platform key there, and every `up` keeps it).
# `up` is idempotent and quick when everything is already up; it writes $DIR/env (shell
# `export` lines) and $DIR/env.json (same values). `down` stops and cleans what `up` started.
#
# Environment:
#   REMOTEGPU_SERVICES_DIR     state dir (default /tmp/remotegpu-services)
#   REMOTEGPU_WITH_CHROMIUM=1  also install chromium
#   REMOTEGPU_WITH_BENCH=1     also install what the benchmarks compare against (nginx and its Lua/Redis modules);
#                              `up --bench` is the same
#   EXTRA_AUTHORIZED_KEYS      more public keys (one a line) for root on the physical sshd
#   REMOTEGPU_PHYSICAL_USE_PAM yes|no (default: no, unless root's password is '!'-locked)
set -euo pipefail

DIR=${REMOTEGPU_SERVICES_DIR:-/tmp/remotegpu-services}
DOCKER_DIR=$DIR/docker
SOCK=$DOCKER_DIR/docker.sock
DOCKERD_PIDFILE=$DOCKER_DIR/dockerd.pid
DOCKERD_LOG=$DOCKER_DIR/dockerd.log
# On dockerd's PATH: a stand-in nvidia-container-runtime-hook (see write_fake_nvidia_hook).
DOCKER_BIN=$DOCKER_DIR/bin
IMAGES_DIR=$DIR/images
PHYS_DIR=$DIR/physical
PHYS_PIDFILE=$PHYS_DIR/sshd.pid
PHYS_LOG=$PHYS_DIR/sshd.log
PHYS_HOST=127.0.0.2
PHYS_PORT=2222
REGISTRY_DIR=$DIR/registry
REGISTRY_PIDFILE=$REGISTRY_DIR/registry.pid
REGISTRY_LOG=$REGISTRY_DIR/registry.log
REGISTRY_ADDR=127.0.0.1:27900
# The default bridge and every user-defined network live in 172.31.0.0/16.
BIP=172.31.255.1/24
POOL=172.31.0.0/17
BUSYBOX_IMAGE=remotegpu/busybox:latest
SSHD_IMAGE=remotegpu/sshd:latest
STOCK_IMAGE=remotegpu/stock:latest
# Bump when the image recipe below changes: `up` then rebuilds images that carry an older one.
IMAGE_RECIPE=3
PACKAGES=(redis-server docker.io busybox-static openssh-server openssh-client sshpass rsync tmux
  curl iproute2 iptables docker-registry socat
  putty-tools dropbear-bin python3-paramiko lftp git dnsutils)

export DOCKER_HOST=unix://$SOCK

# ---------------------------------------------------------------------------------------------
# helpers

log() { printf '[services] %s\n' "$*" >&2; }

# die MESSAGE [LOGFILE]: print the error and the tail of the relevant log, exit 1
die() {
  printf '[services] ERROR: %s\n' "$1" >&2
  if [ -n "${2:-}" ] && [ -s "$2" ]; then
    printf '[services] --- last lines of %s ---\n' "$2" >&2
    tail -n 30 "$2" | sed 's/^/  | /' >&2
  fi
  exit 1
}

now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

# wait_for SECONDS WHAT LOGFILE COMMAND...: poll COMMAND every 50 ms until it succeeds
wait_for() {
  local secs=$1 what=$2 logfile=$3; shift 3
  local deadline=$(($(now_ms) + secs * 1000))
  until "$@"; do
    if [ "$(now_ms)" -ge "$deadline" ]; then die "timed out after ${secs}s waiting for $what" "$logfile"; fi
    sleep 0.05
  done
}

# pid_from FILE: print the pid in FILE if that process is alive
pid_from() {
  local pid
  [ -s "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# stop_pid PID SECONDS: SIGTERM, wait, then SIGKILL
stop_pid() {
  local pid=$1 secs=$2 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < secs * 10; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  log "pid $pid ignored SIGTERM for ${secs}s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

docker_ping() { curl -sf --max-time 2 --unix-socket "$SOCK" http://docker/_ping >/dev/null 2>&1; }
dockerd_pid() { pid_from "$DOCKERD_PIDFILE"; }
phys_pid() { pid_from "$PHYS_PIDFILE"; }
phys_listening() { (exec 3<>"/dev/tcp/$PHYS_HOST/$PHYS_PORT") 2>/dev/null; }

# Take an exclusive lock so that two concurrent `up`/`down` runs do not race.
lock_state_dir() {
  mkdir -p "$DIR"
  chmod 711 "$DIR"
  # Daemons started below must not inherit fd 9 (`9>&-`), or they would hold the lock forever.
  exec 9>"$DIR/.lock"
  flock -w 300 9 || die "another scripts/services.sh holds $DIR/.lock for more than 300s"
}

# ---------------------------------------------------------------------------------------------
# packages

ensure_packages() {
  local want=("${PACKAGES[@]}") missing=() p
  # The console e2e tests: Chromium, and a CJK font so that Chinese labels do not render as boxes.
  [ "${REMOTEGPU_WITH_CHROMIUM:-0}" = 1 ] && want+=(chromium fonts-wqy-zenhei)
  [ "${REMOTEGPU_WITH_BENCH:-0}" = 1 ] && want+=(nginx libnginx-mod-http-lua lua-nginx-redis)
  local installed
  installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${want[@]}" 2>/dev/null || true)
  for p in "${want[@]}"; do
    grep -qx "$p installed" <<<"$installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "missing Debian packages: ${missing[*]} (run this script as root to install them)"

  log "installing Debian packages: ${missing[*]}"
  local t0 aptlog=$DIR/apt.log policy_created=0
  t0=$(now_ms)
  # Keep package maintainer scripts from starting system services (a system dockerd on
  # /var/run/docker.sock and 172.17/16, a system sshd on :22, redis...): we run our own.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    policy_created=1
  fi
  local rc=0
  {
    export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
    apt-get -o DPkg::Lock::Timeout=120 update -q &&
      apt-get -o DPkg::Lock::Timeout=120 install -y -q --no-install-recommends --no-upgrade "${missing[@]}"
  } >"$aptlog" 2>&1 || rc=$?
  [ "$policy_created" = 1 ] && rm -f /usr/sbin/policy-rc.d
  [ "$rc" = 0 ] || die "apt-get failed (exit $rc) installing: ${missing[*]}" "$aptlog"
  log "packages installed in $(($(now_ms) - t0)) ms"
}

# ---------------------------------------------------------------------------------------------
# dockerd

# Host network settings dockerd changes (ip_forward, FORWARD policy): saved once, restored by down.
save_host_net() {
  local f=$DIR/host-net.saved
  [ -s "$f" ] && return 0
  {
    echo "ip_forward=$(cat /proc/sys/net/ipv4/ip_forward)"
    echo "forward_policy=$(iptables -S FORWARD 2>/dev/null | awk '$1 == "-P" {print $3; exit}')"
  } >"$f"
}

restore_host_net() {
  local f=$DIR/host-net.saved ip_forward='' forward_policy=''
  [ -s "$f" ] || return 0
  ip_forward=$(sed -n 's/^ip_forward=//p' "$f")
  forward_policy=$(sed -n 's/^forward_policy=//p' "$f")
  [ -n "$forward_policy" ] && iptables -P FORWARD "$forward_policy" 2>/dev/null || true
  [ -n "$ip_forward" ] && echo "$ip_forward" >/proc/sys/net/ipv4/ip_forward 2>/dev/null || true
  rm -f "$f"
}

# dockerd registers its `nvidia` device driver at start-up only when nvidia-container-runtime-hook is on its PATH;
# without it a container with an NVIDIA DeviceRequest cannot start. This engine has no GPUs, so the hook is a
# stand-in that accepts the OCI state and does nothing: containers keep their DeviceRequests (docker inspect shows
# them) and start, which the fake GPU fleet (`npm start -- --hosts N`, relays with --fake-gpus) relies on.
write_fake_nvidia_hook() {
  mkdir -p "$DOCKER_BIN"
  local hook=$DOCKER_BIN/nvidia-container-runtime-hook
  [ -x "$hook" ] && return 0
  printf '#!/bin/sh\n# Test stand-in for the NVIDIA Container Toolkit hook (scripts/services.sh): no GPUs here, nothing to inject.\ncat >/dev/null\nexit 0\n' >"$hook"
  chmod 755 "$hook"
}

# True when the running dockerd was started with $DOCKER_BIN on its PATH.
dockerd_has_hook() {
  local pid=$1
  tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -q "^PATH=$DOCKER_BIN:"
}

start_dockerd() {
  local pid
  write_fake_nvidia_hook
  if pid=$(dockerd_pid) && docker_ping && ! dockerd_has_hook "$pid"; then
    # An engine started by an older services.sh: restart it once to register the device driver, but never
    # under someone's running containers (a later `up` does it when the engine is idle).
    if [ -z "$(docker ps -q 2>/dev/null)" ]; then
      log "restarting dockerd (pid $pid) to put the stand-in nvidia hook on its PATH"
      stop_pid "$pid" 20
    else
      log "dockerd (pid $pid) lacks the stand-in nvidia hook and has running containers: left as is (GPU containers will not start until an idle up restarts it)"
    fi
  fi
  if pid=$(dockerd_pid); then
    docker_ping && return 0
    # Alive but not answering: maybe still starting (another run), give it a little time.
    local i
    for ((i = 0; i < 100; i++)); do docker_ping && return 0; sleep 0.1; done
    log "dockerd (pid $pid) does not answer on $SOCK: restarting it"
    stop_pid "$pid" 15
  fi
  [ "$(id -u)" = 0 ] || die "dockerd needs root"
  # containerd's socket lives in the exec-root: unix socket paths are limited to 107 bytes.
  local longest=$DOCKER_DIR/exec/containerd/containerd.sock.ttrpc
  [ ${#longest} -le 100 ] || die "REMOTEGPU_SERVICES_DIR is too long for unix socket paths: $DIR"

  mkdir -p "$DOCKER_DIR"
  echo '{}' >"$DOCKER_DIR/daemon.json" # so that /etc/docker/daemon.json is ignored
  save_host_net
  rm -f "$SOCK" "$DOCKERD_PIDFILE"
  : >"$DOCKERD_LOG"
  local t0
  t0=$(now_ms)
  PATH="$DOCKER_BIN:$PATH" setsid /usr/sbin/dockerd \
    --config-file "$DOCKER_DIR/daemon.json" \
    --data-root "$DOCKER_DIR/data" \
    --exec-root "$DOCKER_DIR/exec" \
    --pidfile "$DOCKERD_PIDFILE" \
    -H "unix://$SOCK" \
    --bip "$BIP" \
    --default-address-pool "base=$POOL,size=24" \
    --iptables=true --ip-masq=false --userland-proxy=false \
    --storage-driver overlay2 --shutdown-timeout 3 --log-level warn \
    </dev/null >>"$DOCKERD_LOG" 2>&1 9>&- &
  local launched=$!
  dockerd_ready() {
    kill -0 "$launched" 2>/dev/null || die "dockerd exited during start-up" "$DOCKERD_LOG"
    docker_ping
  }
  wait_for 60 "dockerd to answer on $SOCK" "$DOCKERD_LOG" dockerd_ready
  log "dockerd up in $(($(now_ms) - t0)) ms (DOCKER_HOST=$DOCKER_HOST)"
}

stop_dockerd() {
  local pid
  if pid=$(dockerd_pid); then
    if docker_ping; then
      # Remove containers first: a PID 1 without an init ignores SIGTERM and would hold shutdown.
      local ids
      ids=$(docker ps -aq 2>/dev/null || true)
      if [ -n "$ids" ]; then
        # shellcheck disable=SC2086
        docker rm -f $ids >/dev/null 2>&1 || log "could not remove some containers"
      fi
      local n
      for n in $(docker network ls -q --filter type=custom 2>/dev/null || true); do
        docker network rm "$n" >/dev/null 2>&1 || log "could not remove network $n"
      done
    else
      log "dockerd (pid $pid) does not answer: stopping it without removing containers"
    fi
    stop_pid "$pid" 20
    log "dockerd stopped"
  fi
  # Leftovers of a killed dockerd: its containerd and shims (found by our socket path).
  local p
  for p in $(pgrep -f -- "$DOCKER_DIR/exec/containerd" || true); do
    pgrep -P "$p" | xargs -r kill -KILL 2>/dev/null || true
    kill -KILL "$p" 2>/dev/null || true
  done
  rm -f "$DOCKERD_PIDFILE" "$SOCK"
}

# dockerd leaves docker0, its iptables chains and rules behind: clean them when no dockerd runs.
clean_docker_net() {
  if pgrep -x dockerd >/dev/null; then
    log "another dockerd is running: leaving docker0 and iptables alone"
    return 0
  fi
  ip link del docker0 2>/dev/null || true
  local t rule chains c
  for t in nat filter; do
    iptables -t "$t" -S 2>/dev/null |
      grep -E '^-A (PREROUTING|INPUT|OUTPUT|FORWARD|POSTROUTING) .*(DOCKER|docker0|br-)' |
      sed 's/^-A/-D/' |
      while read -r rule; do
        # shellcheck disable=SC2086
        iptables -t "$t" $rule 2>/dev/null || true
      done
    chains=$(iptables -t "$t" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^DOCKER/ {print $2}')
    for c in $chains; do iptables -t "$t" -F "$c" 2>/dev/null || true; done
    for c in $chains; do iptables -t "$t" -X "$c" 2>/dev/null || true; done
  done
  restore_host_net
}

unmount_state_dir() {
  local m
  awk -v r="$DIR/" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || log "could not unmount $m"
  done
}

# ---------------------------------------------------------------------------------------------
# images

image_label() { docker image inspect -f "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null; }

# A minimal rootfs with static busybox and its applets, root and nobody-ish accounts.
make_rootfs() {
  local r=$1 a
  mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,www,proc,sys,dev,run,var/log,var/tmp}
  chmod 1777 "$r/tmp" "$r/var/tmp"
  chmod 700 "$r/root"
  cp /bin/busybox "$r/bin/busybox"
  for a in $(/bin/busybox --list); do
    [ "$a" = busybox ] || [ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nsshd:x:74:65534::/run/sshd:/bin/false\nnobody:x:65534:65534::/nonexistent:/bin/false\n' >"$r/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
  # '*' and not '!': with UsePAM no, sshd refuses '!'-locked accounts even for key logins.
  printf 'root:*:19000:0:99999:7:::\nsshd:*:19000::::::\nnobody:*:19000::::::\n' >"$r/etc/shadow"
  chmod 600 "$r/etc/shadow"
  printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n' >"$r/etc/nsswitch.conf"
  echo '<h1>ok</h1>' >"$r/www/index.html"
}

# copy_with_libs ROOTFS FILE...: the binaries and the shared libraries ldd finds for them
copy_with_libs() {
  local r=$1 f l; shift
  for f in "$@"; do
    mkdir -p "$r$(dirname "$f")"
    cp -L "$f" "$r$f"
  done
  for l in $(ldd "$@" 2>/dev/null | grep -v ":$" | grep -oE '/[^ ]+\.so[^ ]*' | sort -u); do
    [ -e "$r$l" ] && continue
    mkdir -p "$r$(dirname "$l")"
    cp -L "$l" "$r$l"
  done
}

import_rootfs() {
  local rootfs=$1 tag=$2; shift 2
  tar --numeric-owner --owner=0 --group=0 -C "$rootfs" -cf - . |
    docker import "$@" -c "LABEL org.remotegpu.recipe=$IMAGE_RECIPE" - "$tag" >/dev/null
}

build_busybox_image() {
  local b=$IMAGES_DIR/build/busybox
  rm -rf "$b"
  make_rootfs "$b"
  import_rootfs "$b" "$BUSYBOX_IMAGE" \
    -c 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' -c 'WORKDIR /' -c 'CMD ["/bin/sh"]'
  rm -rf "$b"
}

build_sshd_image() {
  local s=$IMAGES_DIR/build/sshd key=$IMAGES_DIR/id_ed25519 fp=$1
  rm -rf "$s"
  make_rootfs "$s"
  mkdir -p "$s"/{usr/lib/openssh,etc/ssh,run/sshd,root/.ssh,usr/local/bin}
  chmod 700 "$s/root/.ssh"
  chmod 755 "$s/run/sshd"
  touch "$s/var/log/lastlog" "$s/var/log/wtmp" "$s/run/utmp"
  local bins=(/usr/sbin/sshd /usr/lib/openssh/sftp-server /usr/bin/scp /usr/bin/ssh-keygen /usr/bin/ssh-add)
  [ -x /usr/bin/rsync ] && bins+=(/usr/bin/rsync) # handy for transfer tests, costs ~1 MB
  copy_with_libs "$s" "${bins[@]}"
  cp /etc/ssh/moduli "$s/etc/ssh/moduli"
  # One host key for every container of this image: $IMAGES_DIR/known_hosts pins it for any host.
  cp "$IMAGES_DIR/ssh_host_ed25519_key" "$IMAGES_DIR/ssh_host_ed25519_key.pub" "$s/etc/ssh/"
  chmod 600 "$s/etc/ssh/ssh_host_ed25519_key"
  cat >"$s/etc/ssh/sshd_config" <<'EOF'
# remotegpu/sshd: root by public key only
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitEmptyPasswords no
UsePAM no
AuthorizedKeysFile .ssh/authorized_keys
AllowTcpForwarding yes
Subsystem sftp /usr/lib/openssh/sftp-server
PrintMotd no
PrintLastLog no
EOF
  cp "$key.pub" "$s/root/.ssh/authorized_keys"
  chmod 600 "$s/root/.ssh/authorized_keys"
  cat >"$s/usr/local/bin/start-sshd" <<'EOF'
#!/bin/sh
# Append the keys given at run time (docker run -e SSH_AUTHORIZED_KEYS="...") and run sshd.
if [ -n "$SSH_AUTHORIZED_KEYS" ]; then
  printf '%s\n' "$SSH_AUTHORIZED_KEYS" >> /root/.ssh/authorized_keys
fi
mkdir -p /run/sshd && chmod 755 /run/sshd
exec /usr/sbin/sshd -D -e "$@"
EOF
  chmod 755 "$s/usr/local/bin/start-sshd"
  import_rootfs "$s" "$SSHD_IMAGE" \
    -c 'ENV PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' -c 'EXPOSE 22' \
    -c "LABEL org.remotegpu.client-key=$fp" -c 'CMD ["/usr/local/bin/start-sshd"]'
  rm -rf "$s"
}

# A stock ML-like image: glibc userland (dash as sh, bash, coreutils, python3, git, tmux, terminfo), no busybox,
# no OpenSSH, no sftp-server, no rsync: what renters bring from PyTorch/CUDA images.
build_stock_image() {
  local s=$IMAGES_DIR/build/stock f
  rm -rf "$s"
  mkdir -p "$s"/{usr/bin,usr/sbin,usr/lib,usr/lib64,usr/share,etc,root,tmp,proc,sys,dev,run,var/tmp}
  ln -s usr/bin "$s/bin"; ln -s usr/sbin "$s/sbin"; ln -s usr/lib "$s/lib"; ln -s usr/lib64 "$s/lib64" # merged /usr
  chmod 1777 "$s/tmp" "$s/var/tmp"
  chmod 700 "$s/root"
  local bins=(/bin/bash /bin/dash /usr/bin/python3.11 /usr/bin/git /usr/bin/tmux)
  for f in $(dpkg -L coreutils grep sed tar gzip findutils procps hostname debianutils 2>/dev/null | grep -E '^/(usr/)?s?bin/.'); do
    [ -f "$f" ] && [ ! -L "$f" ] && bins+=("$f")
  done
  copy_with_libs "$s" "${bins[@]}"
  ln -sf dash "$s/bin/sh"
  ln -sf python3.11 "$s/usr/bin/python3"
  ln -sf python3 "$s/usr/bin/python"
  # The standard library without its tests and GUI bits; extension modules bring their libraries.
  tar -C / --exclude=test --exclude=tests --exclude=idlelib --exclude=tkinter --exclude=ensurepip \
    --exclude=lib2to3 --exclude='config-3.11-*' -cf - usr/lib/python3.11 usr/lib/git-core usr/share/git-core usr/lib/locale/C.utf8 | tar -C "$s" -xf -
  copy_with_libs "$s" $(find /usr/lib/python3.11/lib-dynload /usr/lib/git-core -maxdepth 1 -type f -perm -u+x -o -name '*.so' | sort -u)
  # git over SSH runs these by name (Debian links them to git); tmux and other curses programs need terminfo.
  for f in git-upload-pack git-receive-pack git-upload-archive; do ln -sf git "$s/usr/bin/$f"; done
  [ -d /lib/terminfo ] && cp -a /lib/terminfo "$s/usr/lib/"
  [ -d /usr/share/terminfo ] && cp -a /usr/share/terminfo "$s/usr/share/"
  printf 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n' >"$s/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$s/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$s/etc/nsswitch.conf"
  printf 'PRETTY_NAME="RemoteGPU stock test image (Debian userland)"\nID=debian\n' >"$s/etc/os-release"
  import_rootfs "$s" "$STOCK_IMAGE" \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' -c 'ENV LANG=C.UTF-8' \
    -c 'WORKDIR /root' -c 'CMD ["/bin/bash"]'
  rm -rf "$s"
}

ensure_images() {
  mkdir -p "$IMAGES_DIR"
  local key=$IMAGES_DIR/id_ed25519 hostkey=$IMAGES_DIR/ssh_host_ed25519_key
  [ -s "$key" ] && [ -s "$key.pub" ] || { rm -f "$key" "$key.pub"; ssh-keygen -q -t ed25519 -N '' -C remotegpu-test -f "$key"; }
  [ -s "$hostkey" ] && [ -s "$hostkey.pub" ] || { rm -f "$hostkey" "$hostkey.pub"; ssh-keygen -q -t ed25519 -N '' -C remotegpu-sshd-image -f "$hostkey"; }
  echo "* $(cut -d' ' -f1,2 "$hostkey.pub")" >"$IMAGES_DIR/known_hosts"
  local fp
  fp=$(ssh-keygen -l -f "$key.pub" | awk '{print $2}')

  local t0
  if [ "$(image_label "$BUSYBOX_IMAGE" org.remotegpu.recipe)" != "$IMAGE_RECIPE" ]; then
    t0=$(now_ms)
    build_busybox_image
    log "built $BUSYBOX_IMAGE in $(($(now_ms) - t0)) ms"
  fi
  if [ "$(image_label "$SSHD_IMAGE" org.remotegpu.recipe)" != "$IMAGE_RECIPE" ] ||
    [ "$(image_label "$SSHD_IMAGE" org.remotegpu.client-key)" != "$fp" ]; then
    t0=$(now_ms)
    build_sshd_image "$fp"
    log "built $SSHD_IMAGE in $(($(now_ms) - t0)) ms"
  fi
  if [ "$(image_label "$STOCK_IMAGE" org.remotegpu.recipe)" != "$IMAGE_RECIPE" ]; then
    t0=$(now_ms)
    build_stock_image
    log "built $STOCK_IMAGE in $(($(now_ms) - t0)) ms"
  fi
  rmdir "$IMAGES_DIR/build" 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------------
# the "physical machine": host sshd on 127.0.0.2:2222

phys_use_pam() {
  if [ -n "${REMOTEGPU_PHYSICAL_USE_PAM:-}" ]; then echo "$REMOTEGPU_PHYSICAL_USE_PAM"; return; fi
  # Without PAM, sshd refuses '!'-locked accounts; with PAM, pam_loginuid may fail in containers.
  if [ "$(getent shadow root | cut -d: -f2 | cut -c1)" = '!' ]; then echo yes; else echo no; fi
}

start_physical() {
  mkdir -p "$PHYS_DIR"
  chmod 700 "$PHYS_DIR"
  local key=$PHYS_DIR/id_ed25519 hostkey=$PHYS_DIR/ssh_host_ed25519_key
  [ -s "$hostkey" ] || { rm -f "$hostkey" "$hostkey.pub"; ssh-keygen -q -t ed25519 -N '' -C remotegpu-physical-host -f "$hostkey"; }
  [ -s "$key" ] && [ -s "$key.pub" ] || { rm -f "$key" "$key.pub"; ssh-keygen -q -t ed25519 -N '' -C remotegpu-physical-client -f "$key"; }
  # Rewritten on every `up`: sshd reads it at each login, so new EXTRA_AUTHORIZED_KEYS apply at once.
  # enrolled_keys is never rewritten here: relays that `npm start` runs keep their login across `up`s.
  {
    cat "$key.pub"
    [ -n "${EXTRA_AUTHORIZED_KEYS:-}" ] && printf '%s\n' "$EXTRA_AUTHORIZED_KEYS"
    [ -s "$PHYS_DIR/enrolled_keys" ] && cat "$PHYS_DIR/enrolled_keys"
  } >"$PHYS_DIR/authorized_keys.tmp"
  mv -f "$PHYS_DIR/authorized_keys.tmp" "$PHYS_DIR/authorized_keys"
  echo "[$PHYS_HOST]:$PHYS_PORT $(cut -d' ' -f1,2 "$hostkey.pub")" >"$PHYS_DIR/known_hosts"
  install -d -m 755 /run/sshd # sshd's compiled-in privilege separation directory

  if phys_pid >/dev/null && phys_listening; then return 0; fi
  local pid
  if pid=$(phys_pid); then stop_pid "$pid" 5; fi
  [ "$(id -u)" = 0 ] || die "the physical sshd needs root"

  cat >"$PHYS_DIR/sshd_config" <<EOF
# RemoteGPU test "physical machine": root by key only, nothing from /etc/ssh
ListenAddress $PHYS_HOST:$PHYS_PORT
HostKey $hostkey
PidFile $PHYS_PIDFILE
AuthorizedKeysFile $PHYS_DIR/authorized_keys
StrictModes no
PermitRootLogin prohibit-password
AllowUsers root
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM $(phys_use_pam)
AllowTcpForwarding yes
Subsystem sftp /usr/lib/openssh/sftp-server
PrintMotd no
PrintLastLog no
EOF
  : >"$PHYS_LOG"
  /usr/sbin/sshd -t -f "$PHYS_DIR/sshd_config" 2>>"$PHYS_LOG" || die "invalid sshd config $PHYS_DIR/sshd_config" "$PHYS_LOG"
  rm -f "$PHYS_PIDFILE"
  # sshd binds, then daemonizes and writes its pidfile; -E keeps its log in our file.
  # bash run by sshd sources ~/.bashrc even for `ssh host cmd`. This "machine" is the CI host, whose root may have
  # its own (pyenv init here: a dozen processes per login, and a login killed mid-rehash leaves a lock that makes every
  # later login wait 60 s). A fresh server has none: sshd gets a mount namespace where that file is empty.
  local rc=/root/.bashrc
  if [ -e "$rc" ] && command -v unshare >/dev/null; then
    : >"$PHYS_DIR/empty-bashrc"
    unshare --mount --propagation private -- sh -c 'mount --bind "$0" "$1" && shift && exec "$@"' \
      "$PHYS_DIR/empty-bashrc" "$rc" /usr/sbin/sshd -f "$PHYS_DIR/sshd_config" -E "$PHYS_LOG" </dev/null 9>&- ||
      die "sshd for $PHYS_HOST:$PHYS_PORT failed to start" "$PHYS_LOG"
  else
    /usr/sbin/sshd -f "$PHYS_DIR/sshd_config" -E "$PHYS_LOG" </dev/null 9>&- || die "sshd for $PHYS_HOST:$PHYS_PORT failed to start" "$PHYS_LOG"
  fi
  phys_ready() { phys_pid >/dev/null && phys_listening; }
  wait_for 10 "sshd on $PHYS_HOST:$PHYS_PORT" "$PHYS_LOG" phys_ready
  log "physical sshd up on $PHYS_HOST:$PHYS_PORT (pid $(phys_pid))"
}

stop_physical() {
  local pid
  if pid=$(phys_pid); then
    stop_pid "$pid" 5
    log "physical sshd stopped"
  fi
  rm -f "$PHYS_PIDFILE"
}

# ---------------------------------------------------------------------------------------------
# the image registry: docker-registry (distribution 2.x) on loopback, its storage under the state dir

registry_pid() { pid_from "$REGISTRY_PIDFILE"; }
registry_ping() { curl -sf --max-time 2 "http://$REGISTRY_ADDR/v2/" >/dev/null 2>&1; }

start_registry() {
  if registry_pid >/dev/null && registry_ping; then return 0; fi
  local pid
  if pid=$(registry_pid); then stop_pid "$pid" 5; fi
  mkdir -p "$REGISTRY_DIR/data"
  cat >"$REGISTRY_DIR/config.yml" <<EOF
# RemoteGPU test registry: loopback only, no auth, deletes enabled (saved images can be deleted)
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $REGISTRY_DIR/data
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
EOF
  : >"$REGISTRY_LOG"
  setsid /usr/bin/docker-registry serve "$REGISTRY_DIR/config.yml" </dev/null >>"$REGISTRY_LOG" 2>&1 9>&- &
  echo $! >"$REGISTRY_PIDFILE"
  registry_ready() { registry_pid >/dev/null || die "docker-registry exited during start-up" "$REGISTRY_LOG"; registry_ping; }
  wait_for 15 "docker-registry on $REGISTRY_ADDR" "$REGISTRY_LOG" registry_ready
  log "registry up on $REGISTRY_ADDR (pid $(registry_pid))"
}

stop_registry() {
  local pid
  if pid=$(registry_pid); then
    stop_pid "$pid" 5
    log "registry stopped"
  fi
  rm -f "$REGISTRY_PIDFILE"
}

# ---------------------------------------------------------------------------------------------
# env files

json_string() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

write_env() {
  local -a kv=(
    REMOTEGPU_SERVICES_DIR "$DIR"
    DOCKER_HOST "unix://$SOCK"
    REMOTEGPU_TEST_SSHD_IMAGE "$SSHD_IMAGE"
    REMOTEGPU_TEST_BUSYBOX_IMAGE "$BUSYBOX_IMAGE"
    REMOTEGPU_TEST_STOCK_IMAGE "$STOCK_IMAGE"
    REMOTEGPU_TEST_KEY "$IMAGES_DIR/id_ed25519"
    REMOTEGPU_TEST_PUBLIC_KEY "$(cat "$IMAGES_DIR/id_ed25519.pub")"
    REMOTEGPU_TEST_KNOWN_HOSTS "$IMAGES_DIR/known_hosts"
    REMOTEGPU_PHYSICAL_HOST "$PHYS_HOST"
    REMOTEGPU_PHYSICAL_PORT "$PHYS_PORT"
    REMOTEGPU_PHYSICAL_USER root
    REMOTEGPU_PHYSICAL_KEY "$PHYS_DIR/id_ed25519"
    REMOTEGPU_PHYSICAL_KNOWN_HOSTS "$PHYS_DIR/known_hosts"
    REMOTEGPU_DOCKER_SUBNET "${POOL}"
    REMOTEGPU_TEST_REGISTRY "$REGISTRY_ADDR"
  )
  local i sh='' json='{' sep=''
  for ((i = 0; i < ${#kv[@]}; i += 2)); do
    sh+=$(printf 'export %s=%q' "${kv[i]}" "${kv[i + 1]}")$'\n'
    json+=$sep$'\n  '$(json_string "${kv[i]}")': '$(json_string "${kv[i + 1]}")
    sep=,
  done
  json+=$'\n}\n'
  printf '%s' "$sh" >"$DIR/env.tmp" && mv -f "$DIR/env.tmp" "$DIR/env"
  printf '%s' "$json" >"$DIR/env.json.tmp" && mv -f "$DIR/env.json.tmp" "$DIR/env.json"
}

# ---------------------------------------------------------------------------------------------
# commands

cmd_up() {
  local t0
  t0=$(now_ms)
  lock_state_dir
  ensure_packages
  start_dockerd
  ensure_images
  start_physical
  start_registry
  write_env
  log "up in $(($(now_ms) - t0)) ms; env: source $DIR/env (or read $DIR/env.json)"
}

cmd_down() {
  local purge=0
  [ "${1:-}" = --purge ] && purge=1
  if [ ! -d "$DIR" ]; then log "nothing to do: $DIR does not exist"; return 0; fi
  lock_state_dir
  stop_registry
  stop_physical
  stop_dockerd
  clean_docker_net
  unmount_state_dir
  rm -f "$DIR/env" "$DIR/env.json"
  if [ "$purge" = 1 ]; then
    rm -rf --one-file-system "$DIR"
    log "down; purged $DIR"
  else
    log "down (state kept in $DIR; use down --purge to delete it)"
  fi
}

cmd_status() {
  local bad=0 pid
  if pid=$(dockerd_pid) && docker_ping; then
    echo "dockerd:        up (pid $pid, DOCKER_HOST=unix://$SOCK)"
    local img
    for img in "$BUSYBOX_IMAGE" "$SSHD_IMAGE" "$STOCK_IMAGE"; do
      if [ -n "$(image_label "$img" org.remotegpu.recipe)" ]; then echo "image:          $img present"
      else echo "image:          $img MISSING"; bad=1; fi
    done
    echo "containers:     $(docker ps -q | wc -l) running"
  else
    echo "dockerd:        DOWN"
    bad=1
  fi
  if pid=$(phys_pid) && phys_listening; then
    echo "physical sshd:  up (pid $pid, $PHYS_HOST:$PHYS_PORT)"
  else
    echo "physical sshd:  DOWN"
    bad=1
  fi
  if pid=$(registry_pid) && registry_ping; then
    echo "registry:       up (pid $pid, $REGISTRY_ADDR)"
  else
    echo "registry:       DOWN"
    bad=1
  fi
  if [ -s "$DIR/env.json" ]; then echo "env:            $DIR/env, $DIR/env.json"
  else echo "env:            MISSING"; bad=1; fi
  return "$bad"
}

cmd_env() {
  [ -s "$DIR/env" ] || die "$DIR/env does not exist: run \`bash scripts/services.sh up\`"
  cat "$DIR/env"
}

case "${1:-}" in
up)
  [ "${2:-}" = --bench ] && export REMOTEGPU_WITH_BENCH=1
  cmd_up
  ;;
down) cmd_down "${2:-}" ;;
status) cmd_status ;;
env) cmd_env ;;
*)
  echo "usage: $0 up [--bench]|down [--purge]|status|env" >&2
  exit 2
  ;;
esac
