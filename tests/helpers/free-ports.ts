// Ports for tests that run the command line as a child process: never envoy/envoy.yaml's own
// (18000, 8099, 8001), which `make local` may be using while the tests run.

import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { ENVOY_YAML } from "./e2e-paths.ts";

export interface ConfigPorts {
  main: number;
  staticreply: number;
  admin: number;
}

/** Ports free right now, distinct from each other (the system picks them). */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    }
    return servers.map((server) => (server.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

/**
 * envoy/envoy.yaml (or `source`, a config on the same ports) written to `file` with its three
 * ports replaced by `ports` (the cluster's endpoint follows listener staticreply).
 */
export function writeConfigWithPorts(file: string, ports: ConfigPorts, source = ENVOY_YAML): void {
  const replacements: Array<[string, number]> = [
    ["port_value: 18000", ports.main],
    ["port_value: 8099", ports.staticreply],
    ["port_value: 8001", ports.admin],
  ];
  let yaml = readFileSync(source, "utf8");
  for (const [search, port] of replacements) {
    if (!yaml.includes(search)) throw new Error(`${source} has no '${search}'`);
    yaml = yaml.replaceAll(search, `port_value: ${port}`);
  }
  writeFileSync(file, yaml);
}

/** envoy/envoy.yaml on free ports, written to `file`. */
export async function configOnFreePorts(file: string): Promise<ConfigPorts> {
  const [main, staticreply, admin] = await freePorts(3);
  const ports = { main: main!, staticreply: staticreply!, admin: admin! };
  writeConfigWithPorts(file, ports);
  return ports;
}
