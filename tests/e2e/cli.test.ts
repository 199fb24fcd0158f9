// The command line as users run it, as a child process: --help, the one-line errors, and a run
// of envoy/envoy.yaml stopped by Ctrl-C and by admin. Its runs use free ports, never the
// configured ones, which `make local` may hold while the tests run.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runCli, startCli } from "../helpers/e2e-cli.ts";
import { NEEDS_CURL, curl } from "../helpers/e2e-clients.ts";
import { whyPluginMissing } from "../../host/paths.ts";
import { ENVOY_YAML, ROOT } from "../helpers/e2e-paths.ts";
import { configOnFreePorts, freePorts, writeConfigWithPorts } from "../helpers/free-ports.ts";

describe("the command line", () => {
  let scratch: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), "local-host-cli-"));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  /** A scratch file name for a config. */
  function scratchFile(): string {
    return join(scratch, `envoy-${Math.random().toString(36).slice(2)}.yaml`);
  }

  /** envoy/envoy.yaml with one text replaced */
  function configWith(search: string, replacement: string): string {
    const file = scratchFile();
    const yaml = readFileSync(ENVOY_YAML, "utf8");
    assert.ok(yaml.includes(search));
    writeFileSync(file, yaml.replace(search, replacement));
    return file;
  }

  test("--help prints the usage and exits 0", async () => {
    const result = await runCli(["--help"]);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^Usage: npx tsx host\/cli.ts \[options\]\n/);
    assert.match(result.stdout, /--component-log-level C:L/);
    assert.equal(result.stderr, "");
  });

  test("a bad flag value is one line and exit 1", async () => {
    assert.deepEqual(await runCli(["--concurrency", "zero"]), {
      code: 1,
      stdout: "",
      stderr: "error: --concurrency: 'zero' is not a whole number of at least 1\n",
    });
    assert.deepEqual(await runCli(["--bogus"]), { code: 1, stdout: "", stderr: "error: Unknown option '--bogus' (see --help)\n" });
  });

  test("a --concurrency above 1024 is one line, before any VM is built", async () => {
    const missing = join(scratch, "missing.yaml");
    const tooMany = "error: --concurrency: 99999999 is more than 1024 worker VMs per plugin (each VM reserves 10 GiB of address space; a process holds about 12,000)\n";
    assert.deepEqual(await runCli(["-c", missing, "--concurrency", "99999999"]), { code: 1, stdout: "", stderr: tooMany });
    assert.deepEqual(await runCli(["-c", missing], { ENVOY_CONCURRENCY: "99999999" }), { code: 1, stdout: "", stderr: tooMany });
    const justOver = await runCli(["-c", missing, "--concurrency", "1025"]);
    assert.equal(justOver.stderr, "error: --concurrency: 1025 is more than 1024 worker VMs per plugin (each VM reserves 10 GiB of address space; a process holds about 12,000)\n");
    // 1024 passes the options: what stops it is the missing config
    assert.deepEqual(await runCli(["-c", missing, "--concurrency", "1024"]), { code: 1, stdout: "", stderr: `error: cannot read ${missing}: no such file\n` });
  });

  test("a flag value that starts with '-' is one line naming the flag", async () => {
    const hint = "is taken for an option, not a value; a value that starts with '-' is written --config-path=-x";
    assert.deepEqual(await runCli(["--config-path", "-x"]), { code: 1, stdout: "", stderr: `error: --config-path: '-x' ${hint}\n` });
    assert.deepEqual(await runCli(["-c", "-x"]), { code: 1, stdout: "", stderr: `error: -c: '-x' ${hint}\n` });
  });

  test("a --plugin-folder that is not a folder is one line that says so", async () => {
    const folder = join(scratch, "no-such-folder");
    const result = await runCli(["--plugin-folder", folder]);
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      `error: plugin 'tcp_connection_logger': the plugin folder ${folder} (--plugin-folder, $FOLDER_PLUGIN; ` +
        "/etc/envoy/plugin/ in the container) is not a folder on this machine\n",
    );
  });

  test("a --plugin-folder without main.wasm is one line that names the folder and the file", async () => {
    const result = await runCli(["--plugin-folder", scratch]);
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      `error: plugin 'tcp_connection_logger': ${join(scratch, "main.wasm")} does not exist: ` +
        `the plugin folder ${scratch} (--plugin-folder, $FOLDER_PLUGIN) has no main.wasm\n`,
    );
  });

  test("without a build, the one line says to run make build", () => {
    const buildFolder = join(ROOT, "build");
    const wasmPath = join(buildFolder, "missing.wasm");
    assert.equal(
      whyPluginMissing("/etc/envoy/plugin/missing.wasm", buildFolder, wasmPath),
      `${wasmPath} does not exist (/etc/envoy/plugin/missing.wasm); run make build`,
    );
  });

  test("-c naming a directory or a device is one line, and nothing is read from it", async () => {
    assert.deepEqual(await runCli(["-c", scratch]), { code: 1, stdout: "", stderr: `error: cannot read ${scratch}: it is a directory\n` });
    assert.deepEqual(await runCli(["-c", "/dev/zero"]), { code: 1, stdout: "", stderr: "error: cannot read /dev/zero: not a regular file\n" });
    const missing = join(scratch, "missing.yaml");
    assert.deepEqual(await runCli(["-c", missing]), { code: 1, stdout: "", stderr: `error: cannot read ${missing}: no such file\n` });
  });

  test("an unknown component in --component-log-level is one line", async () => {
    assert.deepEqual(await runCli(["--component-log-level", "wasm:debug,nosuch:info"]), {
      code: 1,
      stdout: "",
      stderr: "error: --component-log-level: invalid component specified 'nosuch'\n",
    });
  });

  test("an invalid config prints the loader's message", async () => {
    const file = configWith("      connect_timeout: 0.25s\n", "      connect_timeout: 0.25s\n      conect_timeout: 1s\n");
    const result = await runCli(["-c", file]);
    assert.equal(result.code, 1);
    const lines = result.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1);
    assert.match(lines[0], new RegExp(`^error: ${file}:\\d+: static_resources\\.clusters\\[0\\]\\.conect_timeout: `));
  });

  test("a plugin configuration the plugin rejects ends with Envoy's one-line message", async () => {
    const file = configWith('"payload_preview_bytes": 256', '"payload_preview_bytes": 256, "bogus": 1');
    const result = await runCli(["-c", file]);
    assert.equal(result.code, 1);
    assert.match(result.stderr.trimEnd().split("\n").at(-1)!, /^error: Unable to create Wasm plugin tcp_connection_logger: /);
  });

  test("a busy port is one line", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const busy = (blocker.address() as { port: number }).port;
    try {
      const [staticreply, admin] = await freePorts(2);
      const file = scratchFile();
      writeConfigWithPorts(file, { main: busy, staticreply: staticreply!, admin: admin! });
      const result = await runCli(["-c", file]);
      assert.equal(result.code, 1);
      assert.equal(result.stderr.trimEnd().split("\n").at(-1), `error: listener 'main' cannot bind 127.0.0.1:${busy}: address already in use`);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  test("curl through the plugin, the counter in admin, Ctrl-C exits 0", NEEDS_CURL, async () => {
    const file = scratchFile();
    const ports = await configOnFreePorts(file);
    const cli = startCli(["-c", file]);
    await cli.waitForLog("all dependencies initialized. starting workers");
    const reply = await curl(["-i", `localhost:${ports.main}`, "--data", "[initial body]"]);
    assert.match(reply.stdout, /^HTTP\/1.1 200 OK\r\n/);
    assert.match(reply.stdout, /\r\n\r\nexample body\n$/);
    await cli.waitForLog("connection 2: done: ");
    const stats = await curl([`localhost:${ports.admin}/stats/prometheus`]);
    assert.match(stats.stdout, /^connection_counter\{\} 1$/m);
    cli.child.kill("SIGINT");
    const result = await cli.exited;
    assert.equal(result.code, 0);
    assert.match(result.stderr, /\[main\] \[source\/server\/server\.cc:\d+\] caught SIGINT\n/);
    assert.match(result.stderr, /upstream cluster metadata location\.az: ap-northeast-1a\n/);
  });

  test("/ready is 503 INITIALIZING until every listener is bound; once LIVE, the listeners accept", async () => {
    const file = scratchFile();
    const ports = await configOnFreePorts(file);
    const cli = startCli(["-c", file]);
    const answers: string[] = [];
    try {
      // from the moment the process starts, as fast as it answers
      for (;;) {
        const reply = await fetch(`http://127.0.0.1:${ports.admin}/ready`).then(
          async (response) => `${response.status} ${await response.text()}`,
          () => "refused",
        );
        if (reply !== "refused") answers.push(reply);
        if (reply.startsWith("200")) break;
      }
      assert.equal(answers.at(-1), "200 LIVE\n");
      assert.deepEqual(answers.slice(0, -1).filter((answer) => answer !== "503 INITIALIZING\n"), []);
      for (let i = 0; i < 5; i++) {
        const connected = await new Promise<boolean>((resolve) => {
          const socket = connect({ host: "127.0.0.1", port: ports.main }, () => {
            socket.destroy();
            resolve(true);
          });
          socket.on("error", () => resolve(false));
        });
        assert.equal(connected, true);
      }
    } finally {
      cli.child.kill("SIGINT");
      await cli.exited;
    }
  });

  test("levels changed by admin /logging apply to the lines of the signals too", async () => {
    const file = scratchFile();
    const ports = await configOnFreePorts(file);
    const cli = startCli(["-c", file]);
    await cli.waitForLog("all dependencies initialized. starting workers");
    const reply = await fetch(`http://127.0.0.1:${ports.admin}/logging?main=error`, { method: "POST" });
    assert.equal(reply.status, 200);
    cli.child.kill("SIGINT");
    const result = await cli.exited;
    assert.equal(result.code, 0);
    assert.match(result.stderr, /starting workers\n.*change log level: name='main' level='error'\n$/);
  });

  test("admin POST /quitquitquit exits 0", NEEDS_CURL, async () => {
    const file = scratchFile();
    const ports = await configOnFreePorts(file);
    const cli = startCli(["-c", file], { ENVOY_CONCURRENCY: "2" });
    await cli.waitForLog("all dependencies initialized. starting workers");
    const reply = await curl(["-X", "POST", `localhost:${ports.admin}/quitquitquit`]);
    assert.equal(reply.stdout, "OK\n");
    const result = await cli.exited;
    assert.equal(result.code, 0);
    assert.match(result.stderr, /\[main\] \[source\/server\/server\.cc:\d+\] exiting\n$/);
  });
});
