import { EveryPowerOfTwo } from "../../assembly/kit/ratelimit";

describe("EveryPowerOfTwo", () => {
  it("logs the 1st, 2nd, 4th, 8th... occurrence and says how many were left out before it", () => {
    const limit = new EveryPowerOfTwo();
    const logged: string[] = [];
    for (let n = 1; n <= 70; n++) {
      const due = limit.nextIsLogged;
      expect(limit.next()).toBe(due, n.toString());
      if (due) logged.push(n.toString() + "/" + limit.suppressed.toString());
    }
    expect(logged).toStrictEqual(["1/0", "2/0", "4/1", "8/3", "16/7", "32/15", "64/31"]);
  });

  it("starts again after a reset", () => {
    const limit = new EveryPowerOfTwo();
    limit.next();
    limit.next();
    limit.next();
    limit.reset();
    expect(limit.next()).toBe(true);
    expect(limit.suppressed).toBe(0);
    expect(limit.next()).toBe(true);
    expect(limit.next()).toBe(false);
  });
});
