// The kit's HTTP calls (assembly/kit/http_call.ts): the request in the pairs encoding with the
// pseudo-headers Envoy requires, the token kept for the connection that sent it until its answer,
// and the answer's :status read from map 6 (docs/envoy-host.md §19), against the mocked host.
import { WasmResultValues } from "@solo-io/proxy-runtime/runtime";
import { callsInFlight, HttpCallRequest, HttpCallResponse, sendHttpCall, takeCaller } from "../../assembly/kit/http_call";
import { httpCalls, resetHost, setResponseHeader } from "./mock";

export { malloc } from "@solo-io/proxy-runtime/malloc";

function request(): HttpCallRequest {
  const call = new HttpCallRequest("GET", "/check", "authz");
  call.timeoutMs = 250;
  call.header(String.UTF8.encode("x-source-address"), String.UTF8.encode("10.1.2.3:40000"));
  return call;
}

describe("HTTP calls from a connection", () => {
  beforeEach(() => {
    resetHost();
    while (takeCaller(4) != 0 || takeCaller(8) != 0) {}
  });

  it("sends :method, :path, :authority, then the added headers, with the timeout and no body", () => {
    const sent = sendHttpCall(7, "authz", request());
    expect(sent.result).toBe(WasmResultValues.Ok);
    expect(sent.value).toBe(4);
    const calls = httpCalls();
    expect(calls.length).toBe(1);
    expect(calls[0]).toBe("authz 250 :method=GET,:path=/check,:authority=authz,x-source-address=10.1.2.3:40000 body 0");
  });

  it("keeps the connection of each token until its answer is taken, once", () => {
    expect(sendHttpCall(7, "authz", request()).value).toBe(4);
    expect(sendHttpCall(9, "authz", request()).value).toBe(8);
    expect(callsInFlight()).toBe(2);
    expect(takeCaller(8)).toBe(9);
    expect(takeCaller(8)).toBe(0);
    expect(takeCaller(4)).toBe(7);
    expect(takeCaller(12)).toBe(0);
    expect(callsInFlight()).toBe(0);
  });

  it("keeps nothing for a call the host refused (an unknown cluster)", () => {
    const sent = sendHttpCall(7, "nowhere", request());
    expect(sent.result).toBe(WasmResultValues.BadArgument);
    expect(sent.value).toBe(0);
    expect(callsInFlight()).toBe(0);
    expect(httpCalls().length).toBe(0);
  });
});

describe("an HTTP call's answer", () => {
  beforeEach(() => {
    resetHost();
  });

  it("reads :status as a number", () => {
    setResponseHeader(":status", "403");
    const response = new HttpCallResponse(4, 3, 0, 0);
    expect(response.failed).toBe(false);
    expect(response.status()).toBe(403);
  });

  it("reads 0 for a :status that is no 3-digit number, or none", () => {
    setResponseHeader(":status", "20x");
    expect(new HttpCallResponse(4, 1, 0, 0).status()).toBe(0);
    setResponseHeader(":status", "2000");
    expect(new HttpCallResponse(4, 1, 0, 0).status()).toBe(0);
    resetHost();
    expect(new HttpCallResponse(4, 1, 0, 0).status()).toBe(0);
  });

  it("is a failure when it has no headers (Envoy's onHttpCallFailure)", () => {
    expect(new HttpCallResponse(4, 0, 0, 0).failed).toBe(true);
  });
});
