#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for the integration test (tests/test_slurm.py).
#
#   cluster.sh start DIR   install packages where missing (root), start munged, slurmctld and
#                          slurmd (a node with 2 count-only GPUs) with their state, logs and
#                          pid files under DIR; prints SLURM_CONF=DIR/slurm.conf
#   cluster.sh stop DIR    stop the daemons started for DIR, by their pids
#
# No accounting database: job status comes from squeue (MinJobAge keeps finished jobs listed).
set -euo pipefail
cmd=$1
dir=$(realpath -m "$2")

start() {
    if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
        || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
        [ "$(id -u)" = 0 ] || { echo "SKIP: SLURM is not installed and we are not root" >&2; exit 3; }
        export DEBIAN_FRONTEND=noninteractive
        { apt-get update -qq && apt-get install -y -qq slurmctld slurmd slurm-client munge; } \
            >"$dir.apt.log" 2>&1 || { echo "SKIP: cannot install SLURM (see $dir.apt.log)" >&2; exit 3; }
    fi
    mkdir -p "$dir"/{state,spool}
    # munged runs as the munge user, which may not traverse $dir (e.g. pytest's 0700 tmp)
    local mdir
    mdir=$(mktemp -d /tmp/colorcnn-munge.XXXXXX)
    chmod 755 "$mdir" && chown munge: "$mdir"
    echo "$mdir" >"$dir/munge.path"
    if [ ! -s /etc/munge/munge.key ]; then
        dd if=/dev/urandom of=/etc/munge/munge.key bs=128 count=1 status=none
        chown munge: /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
    fi
    runuser -u munge -- munged --socket="$mdir/munge.socket" \
        --pid-file="$mdir/munged.pid" --log-file="$mdir/munged.log" \
        --seed-file="$mdir/munged.seed"
    local node
    node=$(slurmd -C | head -1)
    local host=${node#NodeName=}
    host=${host%% *}
    # Two fake GPUs: SLURM 22.05 drops file-less GPUs, so each is an empty file standing in for
    # /dev/nvidiaN. Enough for SLURM to schedule --gpus requests and record them (jobs see no
    # CUDA device and train on the CPU), so the test can check what each job asked for.
    touch "$dir/nvidia0" "$dir/nvidia1"
    cat >"$dir/gres.conf" <<GRES
AutoDetect=off
Name=gpu File=$dir/nvidia[0-1]
GRES
    cat >"$dir/slurm.conf" <<CONF
ClusterName=colorcnn-ci
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$mdir/munge.socket
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
GresTypes=gpu
MinJobAge=86400
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
$node Gres=gpu:2 State=UNKNOWN
PartitionName=ci Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
    # Job steps (srun inside a batch job) read the default path, not $SLURM_CONF: link it there
    # for the life of this cluster, unless another cluster's configuration lives there.
    for f in slurm.conf gres.conf; do
        if [ -e "/etc/slurm/$f" ] && [ ! -L "/etc/slurm/$f" ]; then
            echo "SKIP: /etc/slurm/$f exists and is not ours; not touching a real cluster" >&2
            exit 3
        fi
    done
    mkdir -p /etc/slurm
    for f in slurm.conf gres.conf; do
        ln -sfn "$dir/$f" "/etc/slurm/$f"
        echo "/etc/slurm/$f" >>"$dir/etc.links"
    done
    export SLURM_CONF=$dir/slurm.conf
    slurmctld -i
    slurmd
    for _ in $(seq 60); do
        if sinfo -h -o %T 2>/dev/null | grep -q idle; then
            echo "SLURM_CONF=$SLURM_CONF"
            return 0
        fi
        sleep 1
    done
    echo "cluster did not become idle; logs in $dir" >&2
    sinfo >&2 || true
    exit 1
}

stop() {
    local mdir=""
    [ -s "$dir/munge.path" ] && mdir=$(cat "$dir/munge.path")
    for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid" ${mdir:+"$mdir/munged.pid"}; do
        if [ -s "$pidfile" ]; then
            pid=$(cat "$pidfile")
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
            kill -9 "$pid" 2>/dev/null || true
        fi
    done
    [ -n "$mdir" ] && rm -rf "$mdir"
    if [ -s "$dir/etc.links" ]; then
        while read -r link; do
            [ "$(readlink "$link")" = "$dir/$(basename "$link")" ] && rm -f "$link"
        done <"$dir/etc.links"
    fi
    return 0
}

"$cmd"
