// hello (build/hello.wasm): the smallest filter on the kit, one connection class and its
// registration line. It greets each client in the log, and passes every byte on unchanged.

import { FilterStatusValues, LogLevelValues } from "@solo-io/proxy-runtime/runtime";
import { Connection } from "../../assembly/kit/connection";
import { NetworkFilter } from "../../assembly/kit/filter";
import * as line from "../../assembly/kit/logline";
import { logLevel } from "../../assembly/kit/log";
import { NoConfiguration } from "../../assembly/kit/plugin";
import { readProperty } from "../../assembly/kit/properties";

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
// @ts-ignore: decorator
@global const networkFilter = new NetworkFilter<NoConfiguration, HelloConnection>(["hello", ""]);
