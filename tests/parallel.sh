#!/bin/sh
# parallel.sh — the GNU parallel recipes of imdb-predict(1) (section SCORING IN PARALLEL),
# extracted from the man page and run here: each must write the lines of the
# single-process run, in order (out1..out5; out3 with the line number in front).
# Workers "on other machines" (--sshlogin) are this machine: by default through an --ssh
# wrapper that runs the command locally in a separate directory (the worker's home),
# so basefile transfer (rsync) and cleanup are real but no sshd is needed; with
# IMDB_TEST_SSHD=1, as root, through a real sshd on 127.0.0.1 with keys made here (slow
# where the login shell is: each ssh session runs it; .ci/run does this).
# Skipped (exit 77) without parallel or rsync.
. "$IMDB_SRCDIR/tests/common.sh"

command -v parallel >/dev/null 2>&1 || { echo "parallel (GNU) not installed: skipped"; exit 77; }
command -v rsync >/dev/null 2>&1 || { echo "rsync not installed: skipped"; exit 77; }
HOME=$SCRATCH/home        # parallel keeps ~/.parallel
mkdir -p "$HOME"
export HOME

tar="$FIXTURES/mini-aclImdb.tar.gz"
imdb-clean -q --split train "$tar" -o train.tok.gz
imdb-clean -q --split test "$tar" -o test.tok.gz
imdb-vocab -q train.tok.gz -o v.gz
imdb-train -q -V v.gz -o min_df=1 -O model.bin train.tok.gz
gunzip -c test.tok.gz | grep -v '^#' | cut -f3 >reviews.txt
imdb-predict -j1 model.bin reviews.txt >single
n=$(wc -l <single)

sed -n '/^\.SH SCORING IN PARALLEL/,/^\.SH /p' "$IMDB_SRCDIR/man/imdb-predict.1" | awk '
    /^\.EX/ { n++; f = sprintf("example%02d.sh", n); next }
    /^\.EE/ { close(f); f = ""; next }
    f { gsub(/\\e/, "\\"); gsub(/\\-/, "-"); print > f }'
[ "$(ls example*.sh | wc -l)" -eq 5 ] || fail "expected 5 examples in SCORING IN PARALLEL"

# Small blocks (the fixture is 260 kB: 4 blocks), so that every recipe runs several workers;
# the workers see the tools through PATH.
PARALLEL="--will-cite --block 70k --env PATH"
export PARALLEL

sshd_pid=
if [ "${IMDB_TEST_SSHD:-0}" = 1 ]; then
    [ "$(id -u)" -eq 0 ] && [ -x /usr/sbin/sshd ] || fail "IMDB_TEST_SSHD=1 needs root and /usr/sbin/sshd"
    # A port from the process id, retried on collision.
    ssh-keygen -q -t ed25519 -N '' -f hostkey
    ssh-keygen -q -t ed25519 -N '' -f userkey
    cp userkey.pub authorized_keys
    mkdir -p /run/sshd
    try=0
    while :; do
        port=$((20000 + ($$ + try * 7919) % 20000))
        cat >sshd_config <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $SCRATCH/hostkey
AuthorizedKeysFile $SCRATCH/authorized_keys
StrictModes no
PidFile $SCRATCH/sshd.pid
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
CONF
        /usr/sbin/sshd -f "$SCRATCH/sshd_config" -E "$SCRATCH/sshd.log" && break
        try=$((try + 1))
        [ "$try" -lt 5 ] || fail "sshd would not start: $(cat sshd.log)"
    done
    i=0
    while [ ! -s sshd.pid ] && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    sshd_pid=$(cat sshd.pid)
    trap 'ssh -F "$SCRATCH/ssh_config" -O exit localhost 2>/dev/null; kill "$sshd_pid" 2>/dev/null; rm -rf "$SCRATCH"' EXIT
    cat >ssh_config <<CONF
Host localhost
  HostName 127.0.0.1
  Port $port
  IdentityFile $SCRATCH/userkey
  IdentitiesOnly yes
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  BatchMode yes
  LogLevel ERROR
  ControlMaster auto
  ControlPath $SCRATCH/cm-%p
  ControlPersist 120
CONF
    PARALLEL_SSH="ssh -F $SCRATCH/ssh_config"
    # The worker's home is root's: give the model a name no one else uses there.
    model=imdb-test-$$.model
    cp model.bin "$model"
    sed -i "s/model\.bin/$model/g" example04.sh
    echo "workers through sshd on 127.0.0.1:$port"
else
    # ssh HOST COMMAND... as a local command in the worker's home (options skipped).
    mkdir -p worker-home
    cat >localssh <<EOS
#!/bin/sh
while [ \$# -gt 0 ]; do
    case \$1 in
    -[lpoFiSEcmOJW]) shift 2 ;;
    -*) shift ;;
    *) break ;;
    esac
done
shift   # the host
[ "\$1" != -- ] || shift
cd "$SCRATCH/worker-home" || exit 255
# sshd sets SHELL to the login shell; parallel's remote worker runs the job with \$SHELL
# and, with SHELL unset (as under some CI runners), silently runs nothing and exits 0.
SHELL=/bin/sh
export SHELL
exec sh -c "\$*"
EOS
    chmod +x localssh
    PARALLEL_SSH="$SCRATCH/localssh"
    echo "workers through a local --ssh wrapper (set IMDB_TEST_SSHD=1 for a real sshd)"
fi
export PARALLEL_SSH

for ex in example*.sh; do
    set +e
    sh -e "$ex" </dev/null >"$ex.out" 2>"$ex.err"
    st=$?
    set -e
    [ $st -eq 0 ] || { cat "$ex" "$ex.err" >&2; fail "example $ex exited $st"; }
done

same out1 single
same out2 single
awk -F '\t' '{ print NR "\t" $0 }' single >numbered
same out3 numbered
same out4 single
same out5 single
[ "$(wc -l <out1)" -eq "$n" ] || fail "out1 has $(wc -l <out1) lines for $n"
# --basefile reached the worker and --cleanup removed it there.
if [ -z "$sshd_pid" ]; then
    [ -z "$(ls worker-home)" ] || fail "the worker's copy of the model was not cleaned up: $(ls worker-home)"
    grep -q 'model.bin' example04.sh || fail "example 4 does not ship model.bin"
else
    [ ! -e "/root/$model" ] || fail "the worker's copy /root/$model was not cleaned up"
fi
# The recipes really ran several blocks.
[ "$(grep -c . example01.sh.err)" -eq 0 ] || { cat example01.sh.err >&2; fail "example 1 wrote to stderr"; }
