# tests/libimdb-install.sh — sourced by the libimdb-*.sh tests after common.sh: installs
# the library, its header and imdb.pc from the build tree into a scratch DESTDIR (make
# install-libLTLIBRARIES install-includeHEADERS install-pkgconfigDATA), and sets
#   DEST     the DESTDIR
#   LIBDIR   $DEST$libdir, where libimdb.so* and pkgconfig/imdb.pc are
#   PKG_CONFIG_PATH, PKG_CONFIG_SYSROOT_DIR  so that pkg-config finds the installed imdb.pc
#            and prefixes its -I and -L paths with DEST.
builddir=$(cd "$IMDB_BIN/.." && pwd)
DEST=$SCRATCH/dest
${MAKE:-make} -s -C "$builddir" DESTDIR="$DEST" \
    install-libLTLIBRARIES install-includeHEADERS install-pkgconfigDATA >install.log 2>&1 ||
    { cat install.log >&2; fail "make install into $DEST failed"; }
pc=$(find "$DEST" -name imdb.pc -path '*/pkgconfig/*')
[ -n "$pc" ] || fail "imdb.pc was not installed"
LIBDIR=$(dirname "$(dirname "$pc")")
PKG_CONFIG_PATH=$LIBDIR/pkgconfig
PKG_CONFIG_SYSROOT_DIR=$DEST
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
unset PKG_CONFIG_LIBDIR
