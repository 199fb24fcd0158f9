// Admin as Envoy answers it (docs/envoy-host.md §14), end to end with envoy/envoy.yaml and the
// release build/main.wasm: /logging (POST only, every query form, bad input, the plugin following
// a change at its next callback), /stats with filter, usedonly, type and format, /clusters,
// /listeners, /server_info, /ready before and after the listeners are bound, and the help.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createAdminServer, type AdminOptions } from "../../host/admin.ts";
import type { ServerState } from "../../host/admin/server-info.ts";
import { createLogger } from "../../host/log.ts";
import { ENVOY_LOGGERS } from "../../host/loggers.ts";
import { closeServer, listen } from "../../host/net/listener/listen.ts";
import { createStatsStore } from "../../host/stats.ts";
import { exchange, postRequest } from "../helpers/e2e-clients.ts";
import { startTestHost, wasmMessages, type TestHost } from "../helpers/e2e.ts";

async function admin(port: number, path: string, method = "GET") {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  return { status: response.status, contentType: response.headers.get("content-type"), body: await response.text() };
}

/** The /logging listing with every logger at `level` except those in `except`. */
function listing(level: string, except: Record<string, string> = {}): string {
  return `active loggers:\n${ENVOY_LOGGERS.map((name) => `  ${name}: ${except[name] ?? level}\n`).join("")}\n`;
}

const USAGE =
  "usage: /logging?<name>=<level> (change single level)\n" +
  "usage: /logging?paths=name1:level1,name2:level2,... (change multiple levels)\n" +
  "usage: /logging?level=<level> (change all levels)\n" +
  "levels: trace debug info warning error critical off \n";

const HELP = [
  "admin commands are:",
  "  /clusters: upstream cluster status",
  "  /help: print out list of admin commands",
  "  /listeners: print listener info",
  "      format: File format to use; One of (text, json)",
  "  /logging (POST): query/change logging levels",
  "      paths: Change multiple logging levels by setting to <logger_name1>:<desired_level1>,<logger_name2>:<desired_level2>. " +
    "If fine grain logging is enabled, use __FILE__ or a glob experision as the logger name. For example, source/common*:warning",
  "      level: desired logging level, this will change all loggers's level; One of (, trace, debug, info, warning, error, critical, off)",
  "  /quitquitquit (POST): exit the server",
  "  /ready: print server state, return 200 if LIVE, otherwise return 503",
  "  /server_info: print server version/status information",
  "  /stats: print server stats",
  "      usedonly: Only include stats that have been written by system since restart",
  "      filter: Regular expression (Google re2) for filtering stats",
  "      format: Format to use; One of (text, json)",
  "      type: Stat types to include.; One of (All, Counters, Histograms, Gauges, TextReadouts)",
  "  /stats/prometheus: print server stats in prometheus format",
  "      usedonly: Only include stats that have been written by system since restart",
  "      filter: Regular expression (Google re2) for filtering stats",
  "",
].join("\n");

describe("admin /logging", () => {
  let testHost: TestHost;
  let port: number;
  before(async () => {
    testHost = await startTestHost();
    port = testHost.host.adminPort;
  });
  after(() => testHost.host.close());

  /** The admin lines logged since `from`, without their timestamps. */
  function adminLines(from: number): string[] {
    return testHost.logs.slice(from).filter((line) => line.includes("][admin] ")).map((line) => line.slice(line.indexOf("]") + 1));
  }

  test("GET is refused as Envoy refuses it, and logged", async () => {
    const from = testHost.logs.length;
    assert.deepEqual(await admin(port, "/logging?wasm=debug"), {
      status: 405,
      contentType: "text/plain; charset=UTF-8",
      body: "Method GET not allowed, POST required.",
    });
    assert.deepEqual(adminLines(from), [
      '[1][error][admin] [source/server/admin/admin.cc:300] admin path "/logging" mutates state, method=GET rather than POST',
    ]);
    assert.equal((await admin(port, "/logging", "POST")).body, listing("info"));
  });

  test("POST with no query lists every logger and its level", async () => {
    assert.deepEqual(await admin(port, "/logging", "POST"), { status: 200, contentType: "text/plain; charset=UTF-8", body: listing("info") });
  });

  test("?<logger>=<level>, ?paths=, ?level= change levels and log each change", async () => {
    let from = testHost.logs.length;
    assert.equal((await admin(port, "/logging?wasm=warning", "POST")).body, listing("info", { wasm: "warning" }));
    assert.deepEqual(adminLines(from), ["[1][info][admin] [source/server/admin/logs_handler.cc:164] change log level: name='wasm' level='warning'"]);

    from = testHost.logs.length;
    assert.equal((await admin(port, "/logging?paths=wasm:error,admin:debug", "POST")).body, listing("info", { wasm: "error", admin: "debug" }));
    assert.deepEqual(adminLines(from), [
      "[1][info][admin] [source/server/admin/logs_handler.cc:164] change log level: name='admin' level='debug'",
      "[1][info][admin] [source/server/admin/logs_handler.cc:164] change log level: name='wasm' level='error'",
    ]);

    from = testHost.logs.length;
    assert.equal((await admin(port, "/logging?level=info", "POST")).body, listing("info"));
    assert.deepEqual(adminLines(from), ["[1][info][admin] [source/server/admin/logs_handler.cc:131] change all log levels: level='info'"]);
  });

  test("bad input: 400 with the error, the usage and the listing; nothing changes", async () => {
    for (const [query, error] of [
      ["wasm=loud", "unknown logger level"],
      ["wasm=warn", "unknown logger level"],
      ["level=", "unknown logger level"],
      ["nosuch=info", "unknown logger name"],
      ["paths=wasm:debug,nosuch:info", "unknown logger name"],
      ["paths=wasm", "empty logger name or empty logger level"],
      ["paths=wasm:debug,:info", "empty logger name or empty logger level"],
      ["wasm=debug&admin=debug", "invalid number of parameters"],
    ]) {
      assert.deepEqual(await admin(port, `/logging?${query}`, "POST"), {
        status: 400,
        contentType: "text/plain; charset=UTF-8",
        body: `error: ${error}\n\n${USAGE}${listing("info")}`,
      }, query);
    }
  });

  test("the release plugin follows a change at its next callback: at warning its info lines are gone", async () => {
    const request = postRequest("localhost");
    await exchange(testHost.mainPort, request);
    await testHost.host.whenIdle();
    const before = wasmMessages(testHost.logs).length;
    assert.ok(wasmMessages(testHost.logs).some((line) => /: connection 2: new connection from /.test(line)));

    await admin(port, "/logging?wasm=warning", "POST");
    await exchange(testHost.mainPort, request);
    await testHost.host.whenIdle();
    assert.deepEqual(wasmMessages(testHost.logs).slice(before), []);
    assert.equal(testHost.host.stats.get("wasmcustom.connection_counter"), 2n);

    await admin(port, "/logging?wasm=info", "POST");
    await exchange(testHost.mainPort, request);
    await testHost.host.whenIdle();
    const later = wasmMessages(testHost.logs).slice(before);
    assert.match(later[0]!, /: connection 4: new connection from 127\.0\.0\.1:\d+$/);
    assert.match(later.at(-1)!, /: connection 4: done: /);
  });
});

describe("admin /stats, /clusters, /listeners, /server_info, help", () => {
  let testHost: TestHost;
  let port: number;
  before(async () => {
    testHost = await startTestHost();
    port = testHost.host.adminPort;
    await exchange(testHost.mainPort, postRequest("localhost"));
    await testHost.host.whenIdle();
  });
  after(() => testHost.host.close());

  test("/stats?filter= keeps the stats whose full name contains a match", async () => {
    assert.equal((await admin(port, "/stats?filter=connection_counter")).body, "wasmcustom.connection_counter: 1\n");
    assert.equal(
      (await admin(port, "/stats?filter=^cluster\\.web_service\\.upstream_cx_(total|active)$")).body,
      "cluster.web_service.upstream_cx_active: 0\ncluster.web_service.upstream_cx_total: 1\n",
    );
    assert.equal((await admin(port, "/stats?filter=nothing-matches")).body, "");
    assert.deepEqual(await admin(port, "/stats?filter=(unclosed"), { status: 400, contentType: "text/plain; charset=UTF-8", body: "Invalid re2 regex: missing ): (unclosed" });
  });

  test("/stats?filter= is RE2: its syntax, its refusals with RE2's error, an empty filter is none", async () => {
    // RE2-only syntax: a quoted literal, a Python-style named group, an inline flag
    assert.equal((await admin(port, "/stats?filter=\\Qwasmcustom.connection_counter\\E")).body, "wasmcustom.connection_counter: 1\n");
    assert.equal((await admin(port, "/stats?filter=(?P<name>connection_counter)")).body, "wasmcustom.connection_counter: 1\n");
    assert.equal((await admin(port, "/stats?filter=(?i)CONNECTION_COUNTER")).body, "wasmcustom.connection_counter: 1\n");
    assert.equal((await admin(port, "/stats?filter=&type=Gauges")).body, "cluster.web_service.upstream_cx_active: 0\nwasmcustom.connection_active: 0\n");
    // a back-reference and lookarounds, which RE2 refuses
    const refused = (body: string) => ({ status: 400, contentType: "text/plain; charset=UTF-8", body: `Invalid re2 regex: ${body}` });
    assert.deepEqual(await admin(port, "/stats?filter=(connection)_\\1"), refused("invalid escape sequence: \\1"));
    assert.deepEqual(await admin(port, "/stats?filter=(?=c)cluster"), refused("invalid perl operator: (?="));
    assert.deepEqual(await admin(port, "/stats?filter=(?!c)cluster"), refused("invalid perl operator: (?!"));
    assert.deepEqual(await admin(port, "/stats?filter=(?<=m)custom"), refused("invalid perl operator: (?<="));
  });

  test("a filter a backtracking engine would never finish is answered, and the host answers after it", async () => {
    // nested repetition that cannot match: exponential for a backtracking engine, linear for RE2
    assert.deepEqual(await admin(port, "/stats?filter=^([a-z_.0-9]+)+!$"), { status: 200, contentType: "text/plain; charset=UTF-8", body: "" });
    assert.deepEqual(await admin(port, "/ready"), { status: 200, contentType: "text/plain; charset=UTF-8", body: "LIVE\n" });
    assert.equal((await admin(port, "/stats?filter=connection_counter")).body, "wasmcustom.connection_counter: 1\n");
  });

  test("/stats?usedonly leaves out the stats never written; type= picks counters or gauges", async () => {
    const used = (await admin(port, "/stats?usedonly&filter=^tcp\\.")).body;
    assert.equal(used.includes("tcp.main_tcp.downstream_cx_total: 1\n"), true);
    assert.equal(used.includes("downstream_cx_no_route"), false);
    assert.equal(used.includes("idle_timeout"), false);
    assert.equal((await admin(port, "/stats?type=Gauges")).body, "cluster.web_service.upstream_cx_active: 0\nwasmcustom.connection_active: 0\n");
    assert.equal((await admin(port, "/stats?type=Bogus")).body, "invalid &type= param");
  });

  test("/stats?format=json is Envoy's stats array; a format it lacks is refused", async () => {
    const json = await admin(port, "/stats?format=json&filter=connection_(counter|active)");
    assert.deepEqual(json, {
      status: 200,
      contentType: "application/json",
      body: '{"stats":[{"name":"wasmcustom.connection_active","value":0},{"name":"wasmcustom.connection_counter","value":1}]}',
    });
    assert.deepEqual(await admin(port, "/stats?format=yaml"), {
      status: 400,
      contentType: "text/plain; charset=UTF-8",
      body: "usage: /stats?format=(html|active-html|json|prometheus|text)\n\n",
    });
    assert.equal((await admin(port, "/stats?format=prometheus&filter=connection_counter")).body, "# TYPE connection_counter counter\nconnection_counter{} 1\n");
    assert.equal((await admin(port, "/stats/prometheus?filter=connection_counter")).body, "# TYPE connection_counter counter\nconnection_counter{} 1\n");
  });

  test("/clusters: circuit breakers, the host and its stats, in Envoy's text format", async () => {
    const host = `web_service::127.0.0.1:${testHost.host.listenerPorts.staticreply}::`;
    assert.deepEqual(await admin(port, "/clusters"), {
      status: 200,
      contentType: "text/plain; charset=UTF-8",
      body: [
        "web_service::observability_name::web_service",
        "web_service::default_priority::max_connections::1024",
        "web_service::default_priority::max_pending_requests::1024",
        "web_service::default_priority::max_requests::1024",
        "web_service::default_priority::max_retries::3",
        "web_service::high_priority::max_connections::1024",
        "web_service::high_priority::max_pending_requests::1024",
        "web_service::high_priority::max_requests::1024",
        "web_service::high_priority::max_retries::3",
        "web_service::added_via_api::false",
        `${host}cx_active::0`,
        `${host}cx_connect_fail::0`,
        `${host}cx_total::1`,
        `${host}rq_active::0`,
        `${host}rq_error::0`,
        `${host}rq_success::0`,
        `${host}rq_timeout::0`,
        `${host}rq_total::1`,
        `${host}hostname::`,
        `${host}health_flags::healthy`,
        `${host}weight::1`,
        `${host}region::`,
        `${host}zone::`,
        `${host}sub_zone::`,
        `${host}canary::false`,
        `${host}priority::0`,
        `${host}success_rate::-1`,
        `${host}local_origin_success_rate::-1`,
        "",
      ].join("\n"),
    });
  });

  test("/listeners as text and as JSON: each listener and the address it is bound to", async () => {
    const { main, staticreply } = testHost.host.listenerPorts;
    assert.equal((await admin(port, "/listeners")).body, `main::127.0.0.1:${main}\nstaticreply::127.0.0.1:${staticreply}\n`);
    const json = await admin(port, "/listeners?format=json");
    assert.equal(json.contentType, "application/json");
    assert.equal(
      json.body,
      [
        "{",
        ' "listener_statuses": [',
        "  {",
        '   "name": "main",',
        '   "local_address": {',
        '    "socket_address": {',
        '     "address": "127.0.0.1",',
        `     "port_value": ${main}`,
        "    }",
        "   }",
        "  },",
        "  {",
        '   "name": "staticreply",',
        '   "local_address": {',
        '    "socket_address": {',
        '     "address": "127.0.0.1",',
        `     "port_value": ${staticreply}`,
        "    }",
        "   }",
        "  }",
        " ]",
        "}",
        "",
      ].join("\n"),
    );
  });

  test("/server_info: version, state, uptimes, command-line options", async () => {
    const info = await admin(port, "/server_info");
    assert.equal(info.contentType, "application/json");
    const parsed = JSON.parse(info.body) as Record<string, unknown>;
    assert.deepEqual(Object.keys(parsed), ["version", "state", "uptime_current_epoch", "uptime_all_epochs", "hot_restart_version", "command_line_options"]);
    assert.match(String(parsed.version), /^envoy-tcp-wasm-assemblyscript\/\d+\.\d+\.\d+\/local-host$/);
    assert.equal(parsed.state, "LIVE");
    assert.match(String(parsed.uptime_current_epoch), /^\d+s$/);
    assert.equal(parsed.hot_restart_version, "disabled");
    assert.deepEqual(Object.keys(parsed.command_line_options as object), ["concurrency", "config_path", "log_level", "component_log_level"]);
    assert.match(info.body, /^{\n "version": /);
  });

  test("/help lists the endpoints in Envoy's format; any other path is 404 with it", async () => {
    assert.deepEqual(await admin(port, "/help"), { status: 200, contentType: "text/plain; charset=UTF-8", body: HELP });
    assert.deepEqual(await admin(port, "/nope"), { status: 404, contentType: "text/plain; charset=UTF-8", body: `invalid path. ${HELP}` });
    assert.equal((await admin(port, "/stats/")).status, 404);
  });

  test("a handler that changes nothing answers any method, as in Envoy", async () => {
    assert.equal((await admin(port, "/stats?filter=connection_counter", "POST")).body, "wasmcustom.connection_counter: 1\n");
  });
});

describe("admin /ready", () => {
  function adminWith(state: ServerState): AdminOptions {
    return {
      stats: createStatsStore(),
      logger: createLogger({ level: "info", componentLevels: {}, write: () => {} }),
      server: () => ({ state, startedAtMs: Date.now(), commandLine: { concurrency: 1, config_path: "", log_level: "info", component_log_level: "" } }),
      listeners: () => [],
      clusters: () => [],
      quit: () => {},
    };
  }

  test("503 with the state's name until the server is LIVE, 200 LIVE then", async () => {
    for (const [state, status] of [["INITIALIZING", 503], ["PRE_INITIALIZING", 503], ["DRAINING", 503], ["LIVE", 200]] as const) {
      const server = createAdminServer(adminWith(state));
      const port = await listen(server, "admin", "127.0.0.1", 0);
      try {
        assert.deepEqual(await admin(port, "/ready"), { status, contentType: "text/plain; charset=UTF-8", body: `${state}\n` });
      } finally {
        await closeServer(server);
      }
    }
  });
});
