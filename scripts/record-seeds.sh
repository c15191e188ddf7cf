#!/usr/bin/env bash
# Records real RFB sessions on loopback and turns them into fuzz seeds
# (tests/fuzz/corpus/<target>/recorded-<peer>-<what>; tests/fuzz/README.md "Adding seeds").
#
#   bash scripts/record-seeds.sh          # replace every recorded-* seed with a fresh recording
#   BUILD_DIR=build-x CHECK=0 bash scripts/record-seeds.sh
#
# Servers: Xvnc (TigerVNC) and x11vnc on Xvfb, 96x96 so that whole updates fit a 64 KiB seed and
# every rectangle fits the decoder harness's framebuffer; each offers exactly one security type
# (None, or VNC Authentication) so that the recorded handshake is the one the codec would choose.
# Viewers: tests/tools/lvc_viewer (libvncclient) asking for one encoding at a time, vncsnapshot,
# and TigerVNC's vncviewer on its own Xvfb. tests/tools/xdraw animates the desktop (and scrolls
# it for CopyRect). Each connection goes through record_session's relay, which logs both
# directions; record_session seeds then cuts the logs into seeds and says how far each gets.
# The recording part is bounded to 2 minutes; every process started here is killed by PID.
# CHECK=1 (default) finally replays every recorded seed with the fuzz targets (GCC replay build).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${BUILD_DIR:-build-seeds}"
corpus="tests/fuzz/corpus"
check="${CHECK:-1}"

for tool in Xvnc Xvfb x11vnc vncsnapshot vncviewer vncpasswd; do
  command -v "$tool" >/dev/null || {
    echo "record-seeds: $tool is missing (bash scripts/install-deps.sh)" >&2
    exit 1
  }
done

cmake -S . -B "$build" -G Ninja -DRFBCAST_BENCH=OFF -DRFBCAST_WEB=OFF -DRFBCAST_FUZZ=ON >/dev/null
cmake --build "$build" --target record_session lvc_viewer xdraw
recorder="$build/tests/record_session"
lvc="$build/tests/lvc_viewer"
xdraw="$build/tests/xdraw"

work="$(mktemp -d /tmp/record-seeds.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
deadline=$((SECONDS + 120))
out_of_time() { ((SECONDS >= deadline)); }

# A display number nobody holds (other test runs use many), and not one handed out already.
used_displays=" "
free_display() {
  local n
  while :; do
    n=$((200 + RANDOM % 700))
    [[ -e /tmp/.X$n-lock || -e /tmp/.X11-unix/X$n || "$used_displays" == *" $n "* ]] && continue
    used_displays+="$n "
    echo "$n"
    return
  done
}
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 20000))
    listening "$p" || {
      echo "$p"
      return
    }
  done
}
wait_for() {  # wait_for <what> <command...>: polls for up to 10 s
  local what="$1" until=$((SECONDS + 10))
  shift
  until "$@"; do
    if ((SECONDS >= until)) || out_of_time; then
      echo "record-seeds: $what did not come up" >&2
      return 1
    fi
    sleep 0.1
  done
}
x_up() { [[ -S /tmp/.X11-unix/X$1 ]]; }

printf 'seedpw42\n' >"$work/password"
vncpasswd -f <"$work/password" >"$work/password.vnc"

# start_x <Xvnc|Xvfb> [server options]: starts an X server on a free display, retrying on a
# clash; sets x_display to its number.
start_x() {
  local kind="$1" n pid
  shift
  for _ in 1 2 3; do
    n="$(free_display)"
    "$kind" ":$n" -nolisten tcp "$@" >"$work/$kind-$n.log" 2>&1 &
    pid=$!
    pids+=("$pid")
    if wait_for "display :$n" x_up "$n"; then
      x_display="$n"
      return 0
    fi
    kill "$pid" 2>/dev/null || true
  done
  return 1
}

# The desktop content: xdraw's test pattern, animated, with a ready file so we know it drew.
# Sets xdraw_pid (SIGUSR2 makes it scroll).
start_xdraw() {  # start_xdraw <display>
  "$xdraw" --display ":$1" --animate --ready-file "$work/xdraw-$1.ready" \
    --copies-file "$work/xdraw-$1.copies" >/dev/null 2>&1 &
  xdraw_pid=$!
  pids+=("$xdraw_pid")
  wait_for "xdraw on :$1" test -s "$work/xdraw-$1.ready"
}

# record <server> <port> <viewer> <what> <password|-> <scroll pid|-> <viewer command...>
# The command's @PORT@ is replaced by the relay's port, @DISPLAY@ by that port - 5900.
record() {
  local server="$1" port="$2" viewer="$3" what="$4" pw="$5" scroll="$6"
  shift 6
  if out_of_time; then
    echo "record-seeds: out of time, skipping $viewer -> $server ($what)"
    return 0
  fi
  local base="$work/$viewer-$server-$what" left=$((deadline - SECONDS))
  "$recorder" relay --to "$port" --out "$base" --port-file "$base.port" \
    --timeout-ms $((left < 20 ? left * 1000 : 20000)) "${relay_extra[@]}" 2>>"$work/relay.log" &
  local relay=$!
  pids+=("$relay")
  wait_for "relay" test -s "$base.port" || return 1
  local rport
  rport="$(cat "$base.port")"
  local cmd=() a
  for a in "$@"; do
    a="${a//@PORT@/$rport}"
    cmd+=("${a//@DISPLAY@/$((rport - 5900))}")
  done
  timeout -k 2 $((left < 8 ? left : 8)) "${cmd[@]}" >"$base.viewer.log" 2>&1 &
  local viewer_pid=$!
  pids+=("$viewer_pid")
  if [[ "$scroll" != - ]]; then  # xdraw scrolls its top band: XCopyArea, so CopyRect
    for _ in 1 2 3 4; do
      sleep 0.3
      kill -USR2 "$scroll" 2>/dev/null || true
    done
  fi
  wait "$viewer_pid" || true
  wait "$relay" || true
  local args=(seeds --c2s "$base.c2s" --s2c "$base.s2c" --corpus "$corpus" --server "$server"
    --viewer "$viewer" --what "$what")
  [[ "$pw" != - ]] && args+=(--password-file "$pw")
  "$recorder" "${args[@]}" || echo "record-seeds: no seeds from $viewer -> $server ($what)"
}

# Refresh: the old recordings go, generated and regression seeds stay.
find "$corpus" -type f -name 'recorded-*' -delete

geometry=96x96
relay_extra=()
lvc_run=(--host 127.0.0.1 --port @PORT@ --count-updates-ms 1200 --timeout-ms 6000)

# --- Xvnc, security None and VNC Authentication -------------------------------------------------
xvnc_port="$(free_port)"
start_x Xvnc -geometry "$geometry" -depth 24 -rfbport "$xvnc_port" -interface 127.0.0.1 \
  -SecurityTypes None -AlwaysShared -AcceptSetDesktopSize=0
wait_for "Xvnc port" listening "$xvnc_port"
start_xdraw "$x_display"
xvnc_draw=$xdraw_pid
xvnc_auth_port="$(free_port)"
start_x Xvnc -geometry "$geometry" -depth 24 -rfbport "$xvnc_auth_port" \
  -interface 127.0.0.1 -SecurityTypes VncAuth -PasswordFile "$work/password.vnc" -AlwaysShared
wait_for "Xvnc (VncAuth) port" listening "$xvnc_auth_port"
start_xdraw "$x_display"
# TigerVNC's vncviewer needs a display of its own.
start_x Xvfb -screen 0 320x240x24
viewer_x=$x_display

for enc in raw rre hextile zrle tight; do
  record xvnc "$xvnc_port" lvc_viewer "$enc" - - "$lvc" "${lvc_run[@]}" --encodings "$enc"
done
record xvnc "$xvnc_port" lvc_viewer copyrect - "$xvnc_draw" "$lvc" "${lvc_run[@]}" \
  --encodings "copyrect hextile"
record xvnc "$xvnc_port" lvc_viewer tight-jpeg - - "$lvc" "${lvc_run[@]}" --encodings tight \
  --quality 5
record xvnc "$xvnc_port" lvc_viewer zrle-16bpp - - "$lvc" "${lvc_run[@]}" --encodings zrle --bpp 16
record xvnc "$xvnc_port" vncsnapshot default - - vncsnapshot -quiet "127.0.0.1:@DISPLAY@" \
  "$work/snap-xvnc.jpg"
record xvnc "$xvnc_port" vncviewer default - "$xvnc_draw" \
  timeout -s TERM 3 env DISPLAY=":$viewer_x" vncviewer -SecurityTypes None "127.0.0.1::@PORT@"
record xvnc "$xvnc_auth_port" lvc_viewer vncauth-zrle "$work/password" - "$lvc" "${lvc_run[@]}" \
  --encodings zrle --password-file "$work/password"
record xvnc "$xvnc_auth_port" vncviewer vncauth "$work/password" - \
  timeout -s TERM 3 env DISPLAY=":$viewer_x" vncviewer -SecurityTypes VncAuth \
  -passwd "$work/password.vnc" "127.0.0.1::@PORT@"
record xvnc "$xvnc_auth_port" vncsnapshot vncauth "$work/password" - vncsnapshot -quiet \
  -passwd "$work/password.vnc" "127.0.0.1:@DISPLAY@" "$work/snap-xvnc-auth.jpg"

# --- x11vnc (libvncserver) on Xvfb: the encodings Xvnc lacks (CoRRE, Zlib) and its own Tight ---
start_x Xvfb -screen 0 "${geometry}x24"
xvfb=$x_display
start_xdraw "$xvfb"
x11vnc_port="$(free_port)"
x11vnc -display ":$xvfb" -rfbport "$x11vnc_port" -localhost -shared -forever -nopw -noshm \
  -noxdamage -nocursorpos -quiet >"$work/x11vnc.log" 2>&1 &
pids+=("$!")
wait_for "x11vnc port" listening "$x11vnc_port"
x11vnc_auth_port="$(free_port)"
x11vnc -display ":$xvfb" -rfbport "$x11vnc_auth_port" -localhost -shared -forever -noshm \
  -noxdamage -nocursorpos -quiet -rfbauth "$work/password.vnc" >"$work/x11vnc-auth.log" 2>&1 &
pids+=("$!")
wait_for "x11vnc (VncAuth) port" listening "$x11vnc_auth_port"

# libvncclient and vncsnapshot always ask for PointerPos, libvncclient also for libvncserver's
# own pseudo-encodings and xvp; libvncserver then sends them, and rfbcast does not read (nor ask
# for) them: the relay takes them out of the viewers' SetEncodings.
relay_extra=(--drop-encodings "-232,-131072,-131071,-131070,-131069,-309")
for enc in raw rre corre hextile zlib zrle tight; do
  record x11vnc "$x11vnc_port" lvc_viewer "$enc" - - "$lvc" "${lvc_run[@]}" --encodings "$enc"
done
record x11vnc "$x11vnc_port" lvc_viewer tight-jpeg - - "$lvc" "${lvc_run[@]}" --encodings tight \
  --quality 5
record x11vnc "$x11vnc_port" lvc_viewer raw-16bpp - - "$lvc" "${lvc_run[@]}" --encodings raw \
  --bpp 16
record x11vnc "$x11vnc_port" vncsnapshot default - - vncsnapshot -quiet "127.0.0.1:@DISPLAY@" \
  "$work/snap-x11vnc.jpg"
record x11vnc "$x11vnc_auth_port" lvc_viewer vncauth-hextile "$work/password" - "$lvc" \
  "${lvc_run[@]}" --encodings hextile --password-file "$work/password"

# --- A browser: headless Chromium's WebSocket (HTTP upgrade head and masked frames) ----------
# The page runs a few lines of RFB over a WebSocket to a small bridge in front of Xvnc; the relay
# sits between Chromium and the bridge, so what it logs is Chromium's own HTTP and framing.
# Needs node and tests/browser's playwright-core (npm ci there); skipped without them.
playwright="tests/browser/node_modules/playwright-core/index.mjs"
if command -v node >/dev/null && [[ -f "$playwright" && -x /usr/bin/chromium ]] && ! out_of_time; then
  cat >"$work/ws_session.mjs" <<'JS'
// node ws_session.mjs PLAYWRIGHT_INDEX RFB_PORT BRIDGE_PORT_FILE RELAY_PORT_FILE
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
const [playwright, rfbPort, bridgePortFile, relayPortFile] = process.argv.slice(2);
const {chromium} = await import(playwright);

// The bridge: RFC 6455 server side, one binary frame per chunk from the RFB server.
function frame(opcode, payload) {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x80 | opcode, n])
    : n < 65536 ? Buffer.from([0x80 | opcode, 126, n >> 8, n & 255])
    : Buffer.concat([Buffer.from([0x80 | opcode, 127]), (() => {
        const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; })()]);
  return Buffer.concat([head, payload]);
}
const server = http.createServer((req, res) => { res.writeHead(404); res.end(); });
server.on('upgrade', (req, sock, head) => {
  const accept = crypto.createHash('sha1')
    .update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
    .digest('base64');
  sock.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: binary\r\n\r\n`);
  const up = net.connect(Number(rfbPort), '127.0.0.1');
  up.on('data', (d) => sock.write(frame(2, d)));
  up.on('close', () => sock.end());
  sock.on('error', () => up.destroy());
  let buf = head;
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      if (buf.length < 2) return;
      let len = buf[1] & 127, off = 2;
      if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }
      if (buf.length < off + 4 + len) return;
      const mask = buf.subarray(off, off + 4);
      const payload = Buffer.from(buf.subarray(off + 4, off + 4 + len));
      for (let i = 0; i < len; ++i) payload[i] ^= mask[i & 3];
      const opcode = buf[0] & 15;
      buf = buf.subarray(off + 4 + len);
      if (opcode === 0 || opcode === 2) up.write(payload);
      else if (opcode === 9) sock.write(frame(10, payload));
      else if (opcode === 8) { sock.end(frame(8, payload.subarray(0, 2))); up.end(); return; }
    }
  });
});
server.listen(0, '127.0.0.1', () => fs.writeFileSync(bridgePortFile, `${server.address().port}\n`));

while (!fs.existsSync(relayPortFile) || !fs.readFileSync(relayPortFile, 'utf8').trim())
  await new Promise((r) => setTimeout(r, 50));
const url = `ws://127.0.0.1:${fs.readFileSync(relayPortFile, 'utf8').trim()}/websockify`;

// The page: an RFB 3.8 client with security None, which asks for updates, moves the pointer,
// types a key, and closes with code 1000 after a second and a half.
const page = `<script>
const ws = new WebSocket(${JSON.stringify(url)}, ['binary']);
ws.binaryType = 'arraybuffer';
let buf = new Uint8Array(0), state = 'version';
const send = (a) => ws.send(new Uint8Array(a));
const u16 = (v) => [v >> 8, v & 255], u32 = (v) => [v >>> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255];
const take = (n) => { const r = buf.slice(0, n); buf = buf.slice(n); return r; };
function step() {
  for (;;) {
    if (state === 'version') { if (buf.length < 12) return; take(12);
      send([...'RFB 003.008\\n'].map((c) => c.charCodeAt(0))); state = 'types'; }
    else if (state === 'types') { if (buf.length < 1 || buf.length < 1 + buf[0]) return;
      take(1 + buf[0]); send([1]); state = 'result'; }
    else if (state === 'result') { if (buf.length < 4) return; take(4); send([1]); state = 'init'; }
    else if (state === 'init') { if (buf.length < 24) return;
      const nl = (buf[20] << 24) | (buf[21] << 16) | (buf[22] << 8) | buf[23];
      if (buf.length < 24 + nl) return; take(24 + nl);
      const encs = [16, 7, 5, 1, 0, -223, -224, -239, -307, -308];
      send([2, 0, ...u16(encs.length), ...encs.flatMap(u32)]);
      send([3, 0, 0, 0, 0, 0, 0, 96, 0, 96]);
      state = 'stream';
      let n = 0;
      const t = setInterval(() => {
        if (ws.readyState !== 1) return clearInterval(t);
        send([3, 1, 0, 0, 0, 0, 0, 96, 0, 96]);
        send([5, n & 1, 0, (n * 7) % 96, 0, (n * 5) % 96]);
        if (++n === 5) { send([4, 1, 0, 0, 0, 0, 0, 0x61]); send([4, 0, 0, 0, 0, 0, 0, 0x61]); }
      }, 100);
      setTimeout(() => ws.close(1000, 'recorded'), 1500); }
    else { buf = new Uint8Array(0); return; }
  }
}
ws.onmessage = (e) => { const b = new Uint8Array(buf.length + e.data.byteLength);
  b.set(buf); b.set(new Uint8Array(e.data), buf.length); buf = b; step(); };
ws.onclose = (e) => { document.title = 'closed ' + e.code; };
</script>`;
const profile = fs.mkdtempSync('/tmp/record-seeds-chromium-');
const context = await chromium.launchPersistentContext(profile, {executablePath: '/usr/bin/chromium',
  headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync']});
try {
  const tab = context.pages()[0] || (await context.newPage());
  await tab.setContent(page);
  await tab.waitForFunction(() => document.title.startsWith('closed'), null, {timeout: 10000});
  console.log(await tab.title());
} finally {
  await context.close();
  fs.rmSync(profile, {recursive: true, force: true});
  server.close();
}
process.exit(0);
JS
  base="$work/chromium-xvnc-websocket"
  timeout -k 2 20 node "$work/ws_session.mjs" "$PWD/$playwright" "$xvnc_port" "$base.bridge" \
    "$base.port" >"$base.node.log" 2>&1 &
  node_pid=$!
  pids+=("$node_pid")
  if wait_for "the WebSocket bridge" test -s "$base.bridge"; then
    "$recorder" relay --to "$(cat "$base.bridge")" --out "$base" --port-file "$base.port" \
      --timeout-ms 20000 2>>"$work/relay.log" &
    relay=$!
    pids+=("$relay")
    wait "$node_pid" || echo "record-seeds: the browser session failed: $(tail -3 "$base.node.log")"
    wait "$relay" || true
    "$recorder" seeds --c2s "$base.c2s" --s2c "$base.s2c" --corpus "$corpus" --server xvnc \
      --viewer chromium --what websocket --websocket yes ||
      echo "record-seeds: no seeds from chromium -> xvnc (websocket)"
  fi
else
  echo "record-seeds: no node, playwright-core (tests/browser) or chromium: no browser seeds"
fi

echo "record-seeds: recording took ${SECONDS}s"

if [[ "$check" == 1 ]]; then
  # Every recorded seed, replayed once by its target: it must not trip a check, and
  # RFBCAST_FUZZ_VERBOSE says how far it gets.
  targets=()
  for dir in "$corpus"/*/; do
    t="$(basename "$dir")"
    compgen -G "$dir/recorded-*" >/dev/null && targets+=("$t")
  done
  build_targets=()
  for t in "${targets[@]}"; do build_targets+=("${t}_fuzz"); done
  cmake --build "$build" --target "${build_targets[@]}" >/dev/null
  failed=0
  for t in "${targets[@]}"; do
    for seed in "$corpus/$t"/recorded-*; do
      if log="$(RFBCAST_FUZZ_VERBOSE=1 "$build/tests/fuzz/${t}_fuzz" "$seed" 2>&1)"; then
        echo "check: $t/$(basename "$seed"): $(grep -v '^replayed' <<<"$log" | tail -1)"
      else
        echo "check: $t/$(basename "$seed"): FAILED"
        echo "$log" | tail -5
        failed=1
      fi
    done
  done
  exit "$failed"
fi
