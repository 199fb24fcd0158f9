import { FilterStatusValues } from "@solo-io/proxy-runtime/runtime";
import { StreamData } from "../../assembly/kit/stream";
import { bufferText, bytesOf, resetHost, setBuffer, setContinueResult, streamCalls } from "./mock";

export { malloc } from "@solo-io/proxy-runtime/malloc";

const DOWNSTREAM: u32 = 2;
const UPSTREAM: u32 = 3;

function downstream(): StreamData {
  return new StreamData(DOWNSTREAM, 2);
}

function upstream(): StreamData {
  return new StreamData(UPSTREAM, 3);
}

describe("StreamData: the bytes that are new", () => {
  beforeEach(() => {
    resetHost();
  });

  it("counts every byte as new after a Continue", () => {
    const data = downstream();
    data.enterCallback(5, false);
    expect(data.received).toBe(5);
    data.leaveCallback(FilterStatusValues.Continue);
    data.enterCallback(3, true);
    expect(data.received).toBe(3);
    expect(data.endOfStream).toBe(true);
  });

  it("counts bytes held by StopIteration once, though Envoy reports them again", () => {
    const data = downstream();
    data.enterCallback(5, false);
    data.leaveCallback(FilterStatusValues.StopIteration);
    data.enterCallback(8, false);
    expect(data.size).toBe(8);
    expect(data.received).toBe(3);
    data.leaveCallback(FilterStatusValues.Continue);
    data.enterCallback(2, false);
    expect(data.received).toBe(2);
  });

  it("holds an edited buffer at its edited size", () => {
    const data = downstream();
    setBuffer(DOWNSTREAM, bytesOf("hello"));
    data.enterCallback(5, false);
    expect(data.prepend(bytesOf("> "))).toBe(0);
    data.leaveCallback(FilterStatusValues.StopIteration);
    data.enterCallback(8, false);
    expect(data.received).toBe(1);
  });

  it("holds nothing once resumed (proxy_continue_stream)", () => {
    const data = downstream();
    data.enterCallback(5, false);
    expect(data.resume()).toBe(0);
    data.leaveCallback(FilterStatusValues.StopIteration);
    data.enterCallback(3, false);
    expect(data.received).toBe(3);
    expect(streamCalls()).toStrictEqual(["continue 2"]);
  });

  it("still holds when the host refuses to resume", () => {
    const data = downstream();
    setContinueResult(12);
    data.enterCallback(5, false);
    expect(data.resume()).toBe(12);
    data.leaveCallback(FilterStatusValues.StopIteration);
    data.enterCallback(6, false);
    expect(data.received).toBe(1);
  });

  it("holds nothing upstream, where Envoy does not support StopIteration", () => {
    const data = upstream();
    data.enterCallback(5, false);
    data.leaveCallback(FilterStatusValues.StopIteration);
    data.enterCallback(3, false);
    expect(data.received).toBe(3);
  });
});

describe("StreamData: editing and closing", () => {
  beforeEach(() => {
    resetHost();
  });

  it("prepends, appends and replaces with Envoy's start and length, and follows the size", () => {
    const data = downstream();
    setBuffer(DOWNSTREAM, bytesOf("hello"));
    data.enterCallback(5, false);
    expect(data.prepend(bytesOf("<"))).toBe(0);
    expect(bufferText(DOWNSTREAM)).toBe("<hello");
    expect(data.append(bytesOf(">"))).toBe(0);
    expect(bufferText(DOWNSTREAM)).toBe("<hello>");
    expect(data.size).toBe(7);
    expect(data.replace(bytesOf("bye"))).toBe(0);
    expect(bufferText(DOWNSTREAM)).toBe("bye");
    expect(data.size).toBe(3);
    expect(String.UTF8.decode(data.read(0, 100).bytes)).toBe("bye");
  });

  it("closes its own side", () => {
    expect(downstream().close()).toBe(0);
    expect(upstream().close()).toBe(0);
    expect(streamCalls()).toStrictEqual(["close 2", "close 3"]);
  });
});
