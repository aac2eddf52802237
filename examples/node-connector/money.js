// Exact money arithmetic on decimal strings and integer minor units (BigInt),
// rounding half-up (ties away from zero) to the minor unit.

function parseDecimal(s) {
  const str = String(s).trim();
  const neg = str.startsWith('-');
  const [int, frac = ''] = str.replace(/^[-+]/, '').split('.');
  return { n: BigInt(int + frac) * (neg ? -1n : 1n), scale: frac.length };
}

function divRoundHalfUp(num, den) {
  const sign = (num < 0n) !== (den < 0n) ? -1n : 1n;
  const a = num < 0n ? -num : num;
  const b = den < 0n ? -den : den;
  return sign * ((2n * a + b) / (2n * b));
}

/** round_half_up(hours × rate): hours a decimal string, rate integer minor units. */
export function lineAmount(hours, rate) {
  const { n, scale } = parseDecimal(hours);
  return Number(divRoundHalfUp(n * BigInt(rate), 10n ** BigInt(scale)));
}

/** round_half_up(cost × (1 + pct / 100)): cost integer minor units, pct a decimal string. */
export function expenseAmount(cost, pct) {
  const { n, scale } = parseDecimal(pct ?? '0');
  const den = 100n * 10n ** BigInt(scale);
  return Number(divRoundHalfUp(BigInt(cost) * (den + n), den));
}
