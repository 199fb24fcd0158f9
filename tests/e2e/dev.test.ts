// make dev on a scratch copy of the project, with examples/hello/envoy.yaml moved to free ports:
// the host starts; a save in examples/hello/ rebuilds build/hello.wasm and restarts the host,
// which then runs the new code; a save that does not compile shows the compiler's errors and
// leaves the running host serving the last module that built; Ctrl-C stops it all with exit 0.
// Every wait is for a line or an answer, never for a length of time.

import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { connect } from "node:net";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { freePorts, writeConfigWithPorts, type ConfigPorts } from "../helpers/free-ports.ts";
import { copyProject, runMake, userMakeEnvironment } from "../helpers/project-copy.ts";

/** Builds on a loaded machine take what they take: this only keeps a hung run from lasting for ever. */
const BUILDS = { timeout: 600_000 };
const HELLO_SOURCE = path.join("examples", "hello", "index.ts");
/** The greeting in examples/hello/index.ts, and what the test changes it to. */
const GREETING = 'line.text("hello, ");';
const NEW_GREETING = 'line.text("hi, ");';

/**
 * What `make dev` runs (scripts/dev.ts, as the Makefile calls it), its stdout and stderr together
 * as they come. Started without make: on Ctrl-C, make itself ends by the signal (`make: ***
 * Interrupt`, as for every target), whatever the exit status of what it ran.
 */
class RunningDev {
  readonly child: ChildProcess;
  output = "";
  readonly exited: Promise<number | null>;
  private readonly waiters = new Set<() => void>();

  constructor(folder: string, config: string) {
    // Its own process group, as a terminal's foreground job: Ctrl-C reaches it and every child.
    this.child = spawn(process.execPath, ["--import", "tsx", "scripts/dev.ts", "-c", config, "--plugin-folder", "./build"], {
      cwd: folder,
      env: userMakeEnvironment(),
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      stream.on("data", (chunk: Buffer) => {
        this.output += chunk.toString();
        for (const waiter of this.waiters) waiter();
      });
    }
    this.exited = new Promise((resolve) => this.child.on("close", (code) => resolve(code)));
  }

  /** Where the output is now: waits from here on see only what comes after. */
  mark(): number {
    return this.output.length;
  }

  /** The first match of `pattern` in the output after `from`, once it has come; rejects if make exits first. */
  waitFor(pattern: RegExp, from: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(this.output.slice(from));
        if (match === null) return;
        this.waiters.delete(check);
        resolve(match[0]);
      };
      this.waiters.add(check);
      void this.exited.then(() => {
        this.waiters.delete(check);
        reject(new Error(`make dev exited before printing ${pattern}:\n${this.output}`));
      });
      check();
    });
  }

  /** Ctrl-C in the terminal: SIGINT to the whole process group. */
  interrupt(): void {
    process.kill(-this.child.pid!, "SIGINT");
  }
}

/** An HTTP request through listener main (wasm filter, tcp_proxy, the direct response): the whole reply. */
function request(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.end("GET / HTTP/1.0\r\nHost: test\r\n\r\n"));
    let reply = "";
    socket.on("data", (chunk: Buffer) => (reply += chunk.toString()));
    socket.on("error", reject);
    socket.on("close", () => resolve(reply));
  });
}

/**
 * Changes examples/hello/index.ts as an editor saves it: in place, or `atomically` (a new file
 * renamed over the old one, as vim and many IDEs do).
 */
function editHello(copy: string, edit: (text: string) => string, atomically: boolean): void {
  const file = path.join(copy, HELLO_SOURCE);
  const text = edit(fs.readFileSync(file, "utf8"));
  if (!atomically) return fs.writeFileSync(file, text);
  fs.writeFileSync(`${file}.new`, text);
  fs.renameSync(`${file}.new`, file);
}

describe("make dev", () => {
  let copy = "";
  let config = "";
  let ports: ConfigPorts;
  let dev: RunningDev | undefined;

  before(async () => {
    copy = copyProject("dev-");
    const [main, staticreply, admin] = await freePorts(3);
    ports = { main: main!, staticreply: staticreply!, admin: admin! };
    config = path.join(copy, "hello-dev.yaml");
    writeConfigWithPorts(config, ports, path.join(copy, "examples", "hello", "envoy.yaml"));
  });
  after(async () => {
    if (dev !== undefined && dev.child.exitCode === null && dev.child.signalCode === null) {
      dev.interrupt();
      await dev.exited;
    }
    fs.rmSync(copy, { recursive: true, force: true });
  });

  it("starts the host, rebuilds and restarts it on a save, keeps it through a failed build, and stops on Ctrl-C with exit 0", BUILDS, async () => {
    const running = new RunningDev(copy, config);
    dev = running;
    await running.waitFor(/^\[dev\] local host started in \d+\.\d s$/m, 0);
    assert.match(running.output, /^\[dev\] watching examples\/hello\/, assembly\/kit\/, hello-dev\.yaml; Ctrl-C stops$/m);
    assert.match(await request(ports.main), /example body\n$/);
    await running.waitFor(/connection \d+: hello, 127\.0\.0\.1:\d+/, 0);

    // A save, by renaming: the module is rebuilt, the host restarted, and the new greeting is what it logs.
    let mark = running.mark();
    editHello(copy, (text) => {
      assert.ok(text.includes(GREETING));
      return text.replace(GREETING, NEW_GREETING);
    }, true);
    // The host's own log lines (its shutdown, its start) come in between.
    await running.waitFor(/^\[dev\] rebuilt build\/hello\.wasm in \d+\.\d s$/m, mark);
    await running.waitFor(/^\[dev\] local host restarted in \d+\.\d s$/m, mark);
    mark = running.mark();
    assert.match(await request(ports.main), /example body\n$/);
    await running.waitFor(/connection \d+: hi, 127\.0\.0\.1:\d+/, mark);

    // A save in place of the same file (one a watcher per file would have lost with the rename)
    // that does not compile: the compiler's errors, and the host as it was.
    mark = running.mark();
    editHello(copy, (text) => text + "\nthis is not AssemblyScript\n", false);
    await running.waitFor(/^\[dev\] build\/hello\.wasm failed to build in \d+\.\d s$/m, mark);
    await running.waitFor(/^\[dev\] the local host keeps running the last module that built$/m, mark);
    assert.match(running.output.slice(mark), /ERROR TS\d+: .*\n[^]*in examples\/hello\/index\.ts\(\d+,\d+\)/);
    const afterFailure = running.mark();
    assert.match(await request(ports.main), /example body\n$/);
    await running.waitFor(/connection \d+: hi, 127\.0\.0\.1:\d+/, afterFailure);
    assert.doesNotMatch(running.output.slice(mark), /local host (re)?started|exited with status/);

    // Ctrl-C: the host shuts down cleanly, the loop exits 0, and the listener is gone.
    mark = running.mark();
    running.interrupt();
    assert.equal(await running.exited, 0);
    assert.match(running.output.slice(mark), /\[main\] \[source\/server\/server\.cc:\d+\] exiting\n/);
    assert.match(running.output, /\[dev\] stopped\n$/);
    await assert.rejects(request(ports.main), { code: "ECONNREFUSED" });
  });

  it("make dev runs it on CONFIG with make local's options", async () => {
    const settings = ["FOLDER_PLUGIN=./build", "ENVOY_CONCURRENCY=2", "WASM_LOG_LEVEL=debug"];
    const dry = await runMake(copy, ["-n", "dev", "CONFIG=examples/hello/envoy.yaml", ...settings, "ARGS=--trace"]);
    assert.equal(
      dry.stdout.replace(/\\\n\s*/g, ""),
      'node --import tsx scripts/dev.ts -c "examples/hello/envoy.yaml" --plugin-folder "./build" --concurrency "2" --component-log-level "wasm:debug" --trace\n',
    );
  });

  it("a config that cannot be read is one line, and nothing starts", async () => {
    const refused = await runMake(copy, ["-s", "dev", "CONFIG=examples/hello/nope.yaml"]);
    assert.equal(refused.code, 2);
    assert.equal(refused.stdout, "");
    assert.match(refused.stderr, /^dev: cannot read examples\/hello\/nope\.yaml: no such file\nmake: \*\*\* \[Makefile:\d+: dev\] Error 1\n$/);
  });
});
