#!/usr/bin/env bash
# cmake --install and cpack -G DEB (SPEC §12): the installed tree is a
# working tool: the binary runs, pkg-config finds luamig.pc, a C program
# builds against include/luamig.h and runs linked to the installed library,
# static and shared; the man page renders and documents every command of the
# table; the completions are where bash, zsh and fish look. The .deb lists
# the same files and depends on the libraries luamig loads.
# Uses the build folder of the binary under test (LM_BUILD_DIR, default the
# folder of $LUAMIG); SQLite run only (nothing here depends on the dialect).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
only_dialect sqlite

BUILD=${LM_BUILD_DIR:-$(dirname "$LUAMIG")}
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  echo "SKIP: $BUILD is not a CMake build folder"
  exit 77
fi
for tool in cmake cc pkg-config; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool is not installed"
    exit 77
  fi
done
# an ASan/UBSan build's library needs the sanitizer runtime in the program too
CFLAGS_EXTRA=()
grep -q '^LUAMIG_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" &&
  CFLAGS_EXTRA=("-fsanitize=address,undefined")
VERSION=$("$LUAMIG" --version | awk '{print $2}')
PREFIX=$LM_TMP/prefix

# a project for the C program: one revision on a SQLite file
mkdir -p "$LM_TMP/app/versions"
cat >"$LM_TMP/app/luamig.lua" <<'EOF'
return { url = "sqlite:///app.db", versions = { "versions" } }
EOF
cat >"$LM_TMP/app/versions/aa0000000001_create_t.lua" <<'EOF'
revision = "aa0000000001"
down_revision = nil
message = "create t"
function upgrade() op.create_table("t", op.column("id", "integer", { primary_key = true })) end
function downgrade() op.drop_table("t") end
EOF
cat >"$LM_TMP/prog.c" <<'EOF'
/* A C program using luamig's library: upgrade a project to head. */
#include <luamig.h>
#include <stdio.h>

int main(int argc, char **argv) {
  lm_options o = {0};
  o.config_path = argc > 1 ? argv[1] : "luamig.lua";
  o.quiet = 1;
  lm_project *p;
  if (lm_project_open(&p, &o)) {
    lm_error_print(stderr);
    return 1;
  }
  lm_run_options r = {0};
  int rc = lm_upgrade(p, "head", &r);
  if (rc) lm_error_print(stderr);
  if (!rc) rc = lm_current(p, 0);
  lm_project_free(p);
  printf("library %s: %s\n", LUAMIG_VERSION, rc ? "failed" : "ok");
  return rc ? 1 : 0;
}
EOF

# ---------------------------------------------------------------------------
t_case "cmake --install: binary, header, libraries, luamig.pc, man page, completions"
out=$(cmake --install "$BUILD" --prefix "$PREFIX" 2>&1)
_check $? "cmake --install succeeds" "$out"
for f in bin/luamig include/luamig.h lib/libluamig.a lib/libluamig.so lib/pkgconfig/luamig.pc \
  share/man/man1/luamig.1 share/bash-completion/completions/luamig \
  share/zsh/vendor-completions/_luamig share/fish/vendor_completions.d/luamig.fish; do
  expect_file "$PREFIX/$f"
done
out=$("$PREFIX/bin/luamig" --version 2>&1)
expect_eq "$out" "luamig $VERSION" "the installed luamig --version"

t_case "pkg-config finds luamig.pc for the installed prefix"
export PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig
PC_CFLAGS=$(pkg-config --cflags luamig)
PC_LIBS=$(pkg-config --libs luamig)
expect_text_contains "$PC_CFLAGS" "-I$PREFIX/include" "pkg-config --cflags luamig"
expect_text_contains "$PC_LIBS" "-L$PREFIX/lib" "pkg-config --libs luamig"
expect_text_contains "$PC_LIBS" "-lluamig" "pkg-config --libs luamig"
expect_eq "$(pkg-config --modversion luamig)" "$VERSION" "pkg-config --modversion luamig"

t_case "a C program linked to the shared library"
# shellcheck disable=SC2086 # pkg-config output is a list of flags
out=$(cc "${CFLAGS_EXTRA[@]}" -Wall -Werror -o "$LM_TMP/prog_shared" "$LM_TMP/prog.c" \
  $PC_CFLAGS $PC_LIBS -Wl,-rpath,"$PREFIX/lib" 2>&1)
_check $? "it compiles and links" "$out"
expect_ok "it needs libluamig.so" sh -c "readelf -d '$LM_TMP/prog_shared' | grep -q 'NEEDED.*libluamig.so'"
out=$(ldd "$LM_TMP/prog_shared" 2>&1 | grep libluamig)
expect_text_contains "$out" "$PREFIX/lib/libluamig.so" "ldd: the installed library"
out=$(cd "$LM_TMP/app" && rm -f app.db && "$LM_TMP/prog_shared" 2>&1)
_check $? "it runs" "$out"
expect_text_contains "$out" "aa0000000001 (head)" "its output"
expect_text_contains "$out" "library $VERSION: ok" "its output"

t_case "a C program linked to the static library"
# shellcheck disable=SC2086,SC2046
out=$(cc "${CFLAGS_EXTRA[@]}" -Wall -Werror -o "$LM_TMP/prog_static" "$LM_TMP/prog.c" \
  $PC_CFLAGS "$PREFIX/lib/libluamig.a" $(pkg-config --static --libs luamig | sed 's/-lluamig//') 2>&1)
_check $? "it compiles and links" "$out"
expect_fails "it does not need libluamig.so" sh -c "readelf -d '$LM_TMP/prog_static' | grep -q 'NEEDED.*libluamig'"
out=$(cd "$LM_TMP/app" && rm -f app.db && "$LM_TMP/prog_static" 2>&1)
_check $? "it runs" "$out"
expect_text_contains "$out" "library $VERSION: ok" "its output"

t_case "the man page renders and documents every command of the table"
expect_file "$BUILD/luamig.1"
out=$("$LUAMIG" __man)
expect_same "$(cat "$BUILD/luamig.1")" "$out" "build/luamig.1 and luamig __man"
if command -v groff >/dev/null 2>&1; then
  warn=$(groff -man -Tutf8 -ww -z "$PREFIX/share/man/man1/luamig.1" 2>&1)
  expect_eq "$warn" "" "groff warnings"
fi
if command -v man >/dev/null 2>&1; then
  PAGE=$(MANWIDTH=200 MAN_KEEP_FORMATTING=0 man -l "$PREFIX/share/man/man1/luamig.1" 2>&1 | col -b)
else
  PAGE=$(groff -man -Tutf8 "$PREFIX/share/man/man1/luamig.1" | col -b)
fi
expect_text_contains "$PAGE" "LUAMIG(1)" "the rendered page"
expect_text_contains "$PAGE" "EXIT STATUS" "the rendered page"
expect_text_contains "$PAGE" "add-not-null-without-default" "the rendered page (lint rules)"
lm --help
COMMANDS=$(printf '%s\n' "$LM_OUT" | sed -n '/^Commands:/,/^$/p' | awk 'NF && !/^Commands:/ {print $1}')
expect_ne "$COMMANDS" "" "the commands of luamig --help"
for cmd in $COMMANDS; do
  lm help "$cmd"
  usage=$(printf '%s\n' "$LM_OUT" | sed -n 's/^usage: //p')
  summary=$(printf '%s\n' "$LM_OUT" | sed -n '3p')
  grep -qxF "   $cmd" <<<"$PAGE"
  _check $? "the man page has a section for '$cmd'"
  # the page wraps long lines: compare with whitespace squeezed
  squeezed=$(tr -s ' \n' '  ' <<<"$PAGE")
  _contains "$squeezed" "$(tr -s ' ' <<<"$usage")"
  _check $? "the man page shows the usage of '$cmd': $usage"
  _contains "$squeezed" "$summary"
  _check $? "the man page shows the summary of '$cmd': $summary"
done

t_case "the installed bash completion loads"
out=$(bash --norc --noprofile -c "source '$PREFIX/share/bash-completion/completions/luamig'; complete -p luamig" 2>&1)
expect_eq "$out" "complete -F _luamig luamig" "complete -p luamig"

t_case "cpack -G DEB: the package's files and dependencies"
if command -v cpack >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1; then
  out=$(cd "$LM_TMP" && cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$LM_TMP/deb" 2>&1)
  _check $? "cpack -G DEB succeeds" "$out"
  DEB=$(find "$LM_TMP/deb" -maxdepth 1 -name "luamig_*.deb" | head -n 1)
  expect_ne "$DEB" "" "the .deb file"
  LIST=$(dpkg-deb -c "$DEB")
  for f in usr/bin/luamig usr/include/luamig.h usr/lib/libluamig.a usr/lib/libluamig.so \
    usr/lib/pkgconfig/luamig.pc usr/share/man/man1/luamig.1 \
    usr/share/bash-completion/completions/luamig usr/share/zsh/vendor-completions/_luamig \
    usr/share/fish/vendor_completions.d/luamig.fish; do
    expect_text_contains "$LIST" "./$f" "dpkg-deb -c"
  done
  INFO=$(dpkg-deb -I "$DEB")
  DEPENDS=$(printf '%s\n' "$INFO" | sed -n 's/^ Depends: //p')
  for dep in liblua5.4-0 libsqlite3-0 libpq5; do
    expect_text_contains "$DEPENDS" "$dep" "Depends"
  done
  expect_text_contains "$INFO" "Package: luamig" "dpkg-deb -I"
  expect_text_contains "$INFO" "Version: $VERSION" "dpkg-deb -I"
  mkdir -p "$LM_TMP/debroot"
  dpkg-deb -x "$DEB" "$LM_TMP/debroot"
  out=$("$LM_TMP/debroot/usr/bin/luamig" --version 2>&1)
  expect_eq "$out" "luamig $VERSION" "the packaged luamig --version"
  out=$(sed -n 's/^prefix=//p' "$LM_TMP/debroot/usr/lib/pkgconfig/luamig.pc")
  expect_eq "$out" "/usr" "the packaged luamig.pc's prefix"

  # dpkg -i into an empty root of its own (dpkg --root): this machine's
  # packages are not touched. Its dependencies are checked against this
  # machine's packages instead, since the empty root has none.
  if command -v dpkg >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
    ROOT=$LM_TMP/root
    mkdir -p "$ROOT/var/lib/dpkg/info" "$ROOT/var/lib/dpkg/updates"
    : >"$ROOT/var/lib/dpkg/status"
    out=$(dpkg --root="$ROOT" --force-depends --force-script-chrootless -i "$DEB" 2>&1)
    _check $? "dpkg -i (into $ROOT)" "$out"
    expect_text_contains "$(dpkg --root="$ROOT" -L luamig 2>&1)" "/usr/lib/libluamig.so" "dpkg -L luamig"
    out=$("$ROOT/usr/bin/luamig" --version 2>&1)
    expect_eq "$out" "luamig $VERSION" "the dpkg-installed luamig --version"
    out=$(PKG_CONFIG_SYSROOT_DIR=$ROOT PKG_CONFIG_PATH=$ROOT/usr/lib/pkgconfig pkg-config --cflags --libs luamig)
    expect_text_contains "$out" "-I$ROOT/usr/include" "pkg-config in the dpkg root"
    # shellcheck disable=SC2086
    out=$(cc "${CFLAGS_EXTRA[@]}" -o "$LM_TMP/prog_deb" "$LM_TMP/prog.c" $out 2>&1)
    _check $? "a C program builds against the dpkg-installed library" "$out"
    out=$(cd "$LM_TMP/app" && rm -f app.db && LD_LIBRARY_PATH=$ROOT/usr/lib "$LM_TMP/prog_deb" 2>&1)
    expect_text_contains "$out" "library $VERSION: ok" "the program linked to the dpkg-installed library"
    for dep in liblua5.4-0 libsqlite3-0 libpq5; do
      dpkg-query -W -f='${Status}' "$dep" 2>/dev/null | grep -q 'install ok installed'
      _check $? "dependency $dep is a package of this distribution (installed here)"
    done
    out=$(dpkg --root="$ROOT" -r luamig 2>&1)
    _check $? "dpkg -r" "$out"
    expect_no_file "$ROOT/usr/bin/luamig"
  fi
else
  echo "  (cpack or dpkg-deb missing: .deb not checked)"
fi

t_done
