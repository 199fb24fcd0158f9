// hello (build/hello.wasm): the smallest filter on the kit, one connection class and its
// registration line. It greets each client in the log, and passes every byte on unchanged.

import {
  Connection, FilterStatusValues, line, LogLevelValues, logLevel, NetworkFilter, NoConfiguration, readProperty,
} from "../../assembly/kit";

export * from "../../assembly/kit/exports";

const SOURCE_ADDRESS = String.UTF8.encode("source\0address");

class HelloConnection extends Connection {
  constructor(id: u32, plugin: NoConfiguration) {
    super(id);
  }

  // proxy_on_new_connection: `connection 2: hello, 127.0.0.1:40000`
  onNewConnection(): FilterStatusValues {
    if (logLevel() <= LogLevelValues.info) {
      const source = readProperty(SOURCE_ADDRESS);
      this.beginLine();
      line.text("hello, ");
      if (source.ok) line.escaped(source.bytes);
      else line.text("stranger");
      line.send(LogLevelValues.info);
    }
    return FilterStatusValues.Continue;
  }
}

// Its root id, and "" for a configuration that leaves root_id out.
@global const networkFilter = new NetworkFilter<NoConfiguration, HelloConnection>(["hello", ""]);
