#!/usr/bin/env bash
# redis-cli used interactively, on a pseudo-terminal as a person at a keyboard uses it: the
# prompt, typed commands with their replies in terminal format, the argument hint redis-cli
# shows while a command is being typed (it builds hints from COMMAND DOCS at start-up), and quit.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
cli_start

python3 - "$PORT" <<'PY' || cli_fail "interactive redis-cli session (details above)"
import fcntl, os, pty, re, select, struct, sys, termios, time

port = sys.argv[1]
prompt = ("127.0.0.1:%s> " % port).encode()
pid, fd = pty.fork()
if pid == 0:
    os.environ["TERM"] = "xterm"
    os.environ["REDISCLI_HISTFILE"] = "/dev/null"
    os.execvp("redis-cli", ["redis-cli", "-p", port])
# A wide terminal, so that no line wraps; linenoise asks the terminal's size through the ioctl.
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))

buf = b""

def poll(timeout):
    """Append what the terminal shows within `timeout` seconds to buf."""
    global buf
    r, _, _ = select.select([fd], [], [], timeout)
    if not r:
        return
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        chunk = b""
    if not chunk:
        sys.exit("redis-cli closed the terminal; it showed:\n%r" % buf[-400:])
    if b"\x1b[6n" in chunk:  # a cursor position query: answer as a terminal does
        os.write(fd, b"\x1b[1;1R")
        chunk = chunk.replace(b"\x1b[6n", b"")
    buf += chunk

def read_until(pattern, timeout=10.0):
    """Read the terminal until `pattern` (bytes regex) matches what was read since the last call."""
    global buf
    deadline = time.time() + timeout
    while True:
        m = re.search(pattern, buf, re.S)
        if m:
            out, buf = buf[: m.end()], buf[m.end():]
            return out
        left = deadline - time.time()
        if left <= 0:
            sys.exit("timed out waiting for %r; terminal shows:\n%r" % (pattern, buf[-400:]))
        poll(left)

def strip(b):
    """Terminal text without escape sequences and carriage returns."""
    b = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", b)
    return b.replace(b"\r", b"").decode(errors="replace")

def command(line, want):
    """Type `line` and Enter; the reply is what appears between the echoed line and the next prompt."""
    global buf
    os.write(fd, line.encode() + b"\r")
    ptext = "\n" + prompt.decode()
    deadline = time.time() + 10
    while ptext not in strip(buf):
        if time.time() > deadline:
            sys.exit("timed out waiting for the reply to %r; terminal shows:\n%r" % (line, buf[-400:]))
        poll(0.05)
    out = strip(buf)
    buf = b""
    reply = out[out.index("\n") + 1 : out.rindex(ptext)]
    if reply != want:
        sys.exit("after typing %r\nwant:\n%s\ngot:\n%s" % (line, want, reply))

read_until(re.escape(prompt))
buf = b""
command("PING", "PONG")
command("SET greeting hello", "OK")
command("GET greeting", '"hello"')
command("INCR visits", "(integer) 1")
command("GET nothing", "(nil)")
command("MGET greeting nothing", '1) "hello"\n2) (nil)')
command("GET", "(error) ERR wrong number of arguments for 'get' command")

# Typing "SET " shows the argument hint after the cursor.
os.write(fd, b"SET ")
try:
    read_until(rb"key.*value", timeout=5)
except SystemExit as e:
    sys.exit("%s\nredis-cli showed no argument hint for SET: redis-cli 7.0 builds its hints from "
             "COMMAND DOCS at start-up, so each command's docs need an 'arguments' array" % e)
os.write(fd, b"\x15")  # Ctrl-U: erase the line
time.sleep(0.2)
os.write(fd, b"quit\r")
deadline = time.time() + 10
while time.time() < deadline:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            os.read(fd, 4096)
        except OSError:
            pass
else:
    sys.exit("redis-cli did not exit after quit")
if os.waitstatus_to_exitcode(status) != 0:
    sys.exit("redis-cli exited with status %d" % os.waitstatus_to_exitcode(status))
PY

expect_out "the server saw the interactive writes" "1" GET visits
cli_stop
cli_pass
