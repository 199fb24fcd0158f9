// NoConfiguration: the plugin class of a filter that has no settings, so that such a filter is
// one connection class and its registration line:
//
//   @global const networkFilter = new NetworkFilter<NoConfiguration, MyConnection>(["my_filter", ""]);
//
// It takes an empty configuration or `{}` and refuses anything else, so that settings meant for
// another filter are not silently ignored. A filter with settings writes its own plugin class
// (configuration.ts), as tcp_guard and the logger do.

import { JsonMember } from "./json";
import { applyConfiguration } from "./configuration";

/** No key is known: every member of the configuration is an unknown key. */
class NoSettings {
  apply(member: JsonMember): string | null {
    return null;
  }
}

/** The plugin class of a filter without settings: it takes no configuration, or `{}`. */
export class NoConfiguration {
  configure(configuration: ArrayBuffer): string {
    const error = applyConfiguration<NoSettings>(configuration, new NoSettings(), false);
    return error.length == 0 ? "" : "this filter takes no configuration (leave it out, or {}): " + error;
  }

  describe(): string {
    return "no configuration";
  }
}
