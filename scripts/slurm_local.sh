#!/usr/bin/env bash
# A single-node SLURM on this machine, for trying `nrp-plugin compare --cluster slurm` and for its slow test.
#
#   scripts/slurm_local.sh start    # start munged, slurmctld and slurmd (idempotent); print what to export
#   scripts/slurm_local.sh status   # say which daemons run, then sinfo and squeue; exit 1 when it does not run
#   scripts/slurm_local.sh stop     # cancel every job, end job steps left behind, stop the three daemons
#
# `start` installs the Debian packages munge and slurm-wlm with apt-get when they are missing (as root; not with
# SLURM_LOCAL_NO_INSTALL=1). Everything lives under SLURM_LOCAL_DIR (default /tmp/nrp-slurm-local): slurm.conf,
# the munge key and socket, the controller's state, the node's spool, pid files and logs; nothing is written under
# /etc. Clients (sbatch, squeue, scancel, sinfo and dask-jobqueue, which calls them) find it through
# SLURM_CONF=$SLURM_LOCAL_DIR/slurm.conf, the line `start` prints last.
#
# One node, this machine, at 127.0.0.1, with SLURM_LOCAL_CPUS CPUs (default 2) and SLURM_LOCAL_MEMORY_MB memory
# (default 80% of this machine's); CPUs and memory are allocated to jobs (select/cons_tres, CR_CPU_Memory), so at
# most SLURM_LOCAL_CPUS one-CPU jobs run at once and the others wait. SLURM_LOCAL_PORT (default 6817) and the next
# port are the controller's and the node's. slurmd runs at niceness SLURM_LOCAL_NICE (default 10) and so do the
# jobs it starts, which then leave the CPUs to interactive work on a shared machine. The daemons run as root and memory is allocated but not enforced (no
# cgroups): a one-machine test installation, not a production set-up.
set -u

DIR=${SLURM_LOCAL_DIR:-/tmp/nrp-slurm-local}
CPUS=${SLURM_LOCAL_CPUS:-2}
PORT=${SLURM_LOCAL_PORT:-6817}
NICE=${SLURM_LOCAL_NICE:-10}
CONF=$DIR/slurm.conf
SOCKET=$DIR/munge/munge.socket
NODE=$(hostname -s)

say() { echo "slurm_local: $*"; }
die() { echo "slurm_local: $*" >&2; exit 1; }

# the pid in FILE when that process runs and its command is NAME
running_pid() {
    local file=$1 name=$2 pid
    [ -s "$file" ] || return 1
    pid=$(cat "$file")
    [ -d "/proc/$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] && echo "$pid"
}

install_packages() {
    command -v munged >/dev/null && command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
        && command -v sbatch >/dev/null && return 0
    [ "${SLURM_LOCAL_NO_INSTALL:-0}" = 1 ] && die "munge and slurm-wlm are not installed (apt-get install munge slurm-wlm)"
    [ "$(id -u)" = 0 ] || die "munge and slurm-wlm are missing; install them as root: apt-get install munge slurm-wlm"
    command -v apt-get >/dev/null || die "munge and slurm-wlm are missing and there is no apt-get to install them"
    say "installing munge and slurm-wlm (apt-get)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        munge slurm-wlm; } >"$DIR/apt.log" 2>&1 || die "apt-get install munge slurm-wlm failed; see $DIR/apt.log"
}

write_config() {
    local memory=${SLURM_LOCAL_MEMORY_MB:-$(awk '/^MemTotal:/ {printf "%d", $2 / 1024 * 0.8}' /proc/meminfo)}
    mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log" "$DIR/munge"
    chmod 755 "$DIR" "$DIR/munge"
    cat >"$CONF.new" <<EOF
# written by scripts/slurm_local.sh: one node, this machine, at 127.0.0.1
ClusterName=nrplocal
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$SOCKET
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
MpiDefault=none
ReturnToService=2
KillWait=10
SlurmdTimeout=60
NodeName=$NODE NodeAddr=127.0.0.1 NodeHostname=$NODE CPUs=$CPUS RealMemory=$memory State=UNKNOWN
PartitionName=local Nodes=$NODE Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO MaxNodes=1 MaxCPUsPerNode=$CPUS
EOF
    mv "$CONF.new" "$CONF"
    if [ ! -s "$DIR/munge/munge.key" ]; then
        (umask 077 && head -c 1024 /dev/urandom >"$DIR/munge/munge.key")
    fi
    chmod 400 "$DIR/munge/munge.key"
}

start() {
    mkdir -p "$DIR"
    install_packages
    write_config
    export SLURM_CONF=$CONF
    if ! running_pid "$DIR/munge/munged.pid" munged >/dev/null; then
        munged --force --key-file="$DIR/munge/munge.key" --socket="$SOCKET" --pid-file="$DIR/munge/munged.pid" \
            --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/munged.seed" \
            || die "munged did not start; see $DIR/log/munged.log"
    fi
    if ! running_pid "$DIR/slurmctld.pid" slurmctld >/dev/null; then
        slurmctld -f "$CONF" || die "slurmctld did not start; see $DIR/log/slurmctld.log"
    fi
    if ! running_pid "$DIR/slurmd.pid" slurmd >/dev/null; then
        nice -n "$NICE" slurmd -f "$CONF" -N "$NODE" || die "slurmd did not start; see $DIR/log/slurmd.log"
    fi
    local waited=0
    until sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; do
        [ $waited -ge 60 ] && die "the node did not come up in 60 s; see $DIR/log/ (sinfo: $(sinfo -h 2>&1))"
        sleep 1
        waited=$((waited + 1))
    done
    sinfo
    # as the script's last line, for: eval "$(scripts/slurm_local.sh start | tail -1)"
    echo "export SLURM_CONF=$CONF"
}

status() {
    export SLURM_CONF=$CONF
    local name file down=0
    for name in munged slurmctld slurmd; do
        case $name in munged) file=$DIR/munge/munged.pid ;; *) file=$DIR/$name.pid ;; esac
        if pid=$(running_pid "$file" $name); then say "$name running (pid $pid)"; else say "$name not running"; down=1; fi
    done
    if [ $down = 0 ] && sinfo 2>&1; then
        squeue
        echo "export SLURM_CONF=$CONF"
        return 0
    fi
    say "not running (start it with: scripts/slurm_local.sh start)"
    return 1
}

# the job steps (slurmstepd) of this installation: those with this installation's spool or log open
step_pids() {
    local pid
    for pid in $(pgrep -x slurmstepd); do
        ls -l "/proc/$pid/fd" 2>/dev/null | grep -q -- "$DIR/" && echo "$pid"
    done
}

# the processes in the session of process PID (a job step and the job's processes it started)
session_members() {
    local sid
    sid=$(ps -o sid= -p "$1" | tr -d ' ')
    [ -n "$sid" ] && ps -e -o pid=,sid= | awk -v sid="$sid" '$2 == sid {print $1}'
}

# whether process PID exists and has not exited (a zombie has)
alive() {
    [ -r "/proc/$1/stat" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" != Z ]
}

stop() {
    export SLURM_CONF=$CONF
    local pid member name waited jobs ours="" left
    if running_pid "$DIR/slurmctld.pid" slurmctld >/dev/null; then
        jobs=$(squeue -h -o %i 2>/dev/null)
        if [ -n "$jobs" ]; then
            say "cancelling jobs $(echo $jobs)"
            scancel $jobs 2>/dev/null
            for waited in $(seq 30); do
                [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
                sleep 1
            done
        fi
    fi
    for pid in $(step_pids); do  # a job step that outlived its job's cancellation, and its job's processes
        for member in $(session_members "$pid"); do
            say "ending process $member of job step $pid"
            kill -TERM "$member" 2>/dev/null && ours="$ours $member"
        done
    done
    for name in slurmd slurmctld munged; do
        case $name in munged) file=$DIR/munge/munged.pid ;; *) file=$DIR/$name.pid ;; esac
        if pid=$(running_pid "$file" $name); then
            kill -TERM "$pid" && ours="$ours $pid"
            say "stopping $name ($pid)"
        fi
    done
    for waited in $(seq 40); do
        left=""
        for pid in $ours; do alive "$pid" && left="$left $pid"; done
        [ -z "$left" ] && break
        sleep 0.5
    done
    for pid in $left; do
        say "killing $pid"
        kill -KILL "$pid" 2>/dev/null
    done
    rm -f "$DIR/slurmd.pid" "$DIR/slurmctld.pid" "$DIR/munge/munged.pid"
    say "stopped"
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
