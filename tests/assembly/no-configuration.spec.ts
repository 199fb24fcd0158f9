import { NoConfiguration } from "../../assembly/kit/plugin";

function errorOf(configuration: string): string {
  return new NoConfiguration().configure(String.UTF8.encode(configuration));
}

describe("the kit's NoConfiguration plugin", () => {
  it("takes no configuration, or an empty object", () => {
    expect(new NoConfiguration().configure(new ArrayBuffer(0))).toBe("");
    expect(errorOf("{}")).toBe("");
    expect(errorOf(" {\n} ")).toBe("");
    expect(new NoConfiguration().describe()).toBe("no configuration");
  });

  it("refuses anything else in one line that says so and names it", () => {
    expect(errorOf("{\"greeting\": \"hi\"}")).toBe("this filter takes no configuration (leave it out, or {}): unknown key \"greeting\"");
    expect(errorOf("{\"a\": [1]}")).toBe("this filter takes no configuration (leave it out, or {}): malformed JSON at byte 6");
    expect(errorOf("[]")).toBe("this filter takes no configuration (leave it out, or {}): configuration must be a JSON object, got an array");
    expect(errorOf("null")).toBe("this filter takes no configuration (leave it out, or {}): configuration must be a JSON object, got null");
    expect(errorOf("42")).toBe("this filter takes no configuration (leave it out, or {}): configuration must be a JSON object, got a number");
  });
});
