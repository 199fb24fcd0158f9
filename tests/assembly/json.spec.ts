import { JsonKind, JsonObjectReader, JsonValue } from "../../assembly/kit/json";

function reader(json: string, nested: bool): JsonObjectReader {
  const read = new JsonObjectReader(String.UTF8.encode(json), nested);
  read.readDocument();
  return read;
}

function number(text: string): JsonValue {
  return new JsonValue(JsonKind.Number, text, []);
}

describe("JsonObjectReader", () => {
  it("refuses an array or object value when values are flat, at the byte it starts", () => {
    expect(reader("{\"a\": [1]}", false).error).toBe("malformed JSON at byte 6");
    expect(reader("{\"a\": 1, \"b\": {}}", false).error).toBe("malformed JSON at byte 14");
  });

  it("reads arrays with their items and checks objects, when values nest", () => {
    const read = reader("{\"a\": [1, \"x\", true, false, null, [2]], \"b\": {\"c\": [ ]}, \"d\": []}", true);
    expect(read.error).toBe("");
    expect(read.members.length).toBe(3);
    const items = read.members[0].value.items;
    expect(read.members[0].value.kind).toBe(JsonKind.Array);
    expect(items.length).toBe(6);
    expect(items[0].text).toBe("1");
    expect(items[1].kind).toBe(JsonKind.String);
    expect(items[1].text).toBe("x");
    expect(items[2].kind).toBe(JsonKind.True);
    expect(items[3].kind).toBe(JsonKind.False);
    expect(items[4].kind).toBe(JsonKind.Null);
    expect(items[5].items[0].text).toBe("2");
    expect(read.members[1].value.kind).toBe(JsonKind.Object);
    expect(read.members[2].value.items.length).toBe(0);
  });

  it("finds the malformed byte inside a nested value", () => {
    expect(reader("{\"a\": [1, }", true).error).toBe("malformed JSON at byte 10");
    expect(reader("{\"a\": [1 2]}", true).error).toBe("malformed JSON at byte 9");
    expect(reader("{\"a\": {\"b\" 1}}", true).error).toBe("malformed JSON at byte 11");
  });

  it("reads a document that is not an object whole, to tell valid JSON of another kind from malformed JSON", () => {
    expect(reader("null", false).error).toBe("configuration must be a JSON object, got null");
    expect(reader("[[1], {\"a\": 2}]", false).error).toBe("configuration must be a JSON object, got an array");
    expect(reader("[[1], {\"a\": 2}]", true).error).toBe("configuration must be a JSON object, got an array");
    expect(reader("[[1], {\"a\": 2]", false).error).toBe("malformed JSON at byte 13");
    expect(reader("[" + "[".repeat(16) + "]".repeat(16) + "]", false).error).toBe("JSON nested deeper than 16 levels at byte 16");
    expect(reader("null null", false).error).toBe("malformed JSON at byte 5");
    expect(reader("", false).error).toBe("malformed JSON at byte 0");
  });

  it("keeps every item of a long array, in order", () => {
    let json = "{\"a\": [";
    for (let i = 0; i < 1000; i++) json += (i > 0 ? ", \"" : "\"") + i.toString() + "\"";
    const read = reader(json + "]}", true);
    expect(read.error).toBe("");
    const items = read.members[0].value.items;
    expect(items.length).toBe(1000);
    let inOrder = true;
    for (let i = 0; i < 1000; i++) inOrder = inOrder && items[i].text == i.toString();
    expect(inOrder).toBe(true);
  });

  it("nests 16 levels deep, no deeper", () => {
    expect(reader("{\"a\": " + "[".repeat(16) + "]".repeat(16) + "}", true).error).toBe("");
    expect(reader("{\"a\": " + "[".repeat(17) + "]".repeat(17) + "}", true).error).toBe("JSON nested deeper than 16 levels at byte 22");
  });
});

describe("JsonValue.unsignedInteger", () => {
  it("reads a plain integer literal up to the largest i64", () => {
    expect(number("0").unsignedInteger()).toBe(0);
    expect(number("4096").unsignedInteger()).toBe(4096);
    expect(number("9223372036854775807").unsignedInteger()).toBe(i64.MAX_VALUE);
  });

  it("is -1 for anything else", () => {
    const bad = ["-1", "-0", "1.0", "1e3", "9223372036854775808", "18446744073709551616", "99999999999999999999999"];
    for (let i = 0; i < bad.length; i++) expect(number(bad[i]).unsignedInteger()).toBe(-1, bad[i]);
    expect(new JsonValue(JsonKind.String, "1", []).unsignedInteger()).toBe(-1);
  });
});
