import { describe, expect, it } from "vitest";
import { tickLabel } from "../../ui/client/best-chart.ts";

describe("the best-over-time chart's time ticks", () => {
  it("labels every 30-second tick distinctly (1m30s was drawn as a second 2m)", () => {
    const labels = [0, 30, 60, 90, 120, 150].map((s) => tickLabel(s * 1000));
    expect(labels).toEqual(["0", "30s", "1m", "1m30s", "2m", "2m30s"]);
    expect(new Set(labels).size).toBe(labels.length);
  });
  it("hours, with minutes when not whole", () => {
    expect(tickLabel(3600_000)).toBe("1h");
    expect(tickLabel(5400_000)).toBe("1h30m");
  });
});
