// Fault knobs are an operator's tool (docs/contract.md, "Fault knobs"): with FAULT_INJECTION_TOKEN
// set, a call that asks the producer for a delay or a status other than 200 must prove it knows
// the token, so an anonymous client cannot open the breaker for everyone with three 500s.
import { createHash, timingSafeEqual } from 'node:crypto';
import { HttpProblem } from '@s2s/service-kit/problem';

export const FAULT_TOKEN_HEADER = 'x-fault-injection-token';

/** What a request asks of the fault knobs; 0 and 200 (the defaults) ask for nothing. */
export interface FaultKnobs {
  delay?: number | undefined;
  responseCode?: number | undefined;
}

export function usesFaultKnobs(knobs: FaultKnobs): boolean {
  return (knobs.delay ?? 0) !== 0 || (knobs.responseCode ?? 200) !== 200;
}

// Digests have one length whatever was sent, so timingSafeEqual never throws on a length
// mismatch and the comparison time says nothing about the token's length or prefix.
const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * A guard for the configured token: `assertAllowed` throws a 403 problem naming the header when
 * the knobs are used without the right token. An empty token leaves the knobs open.
 */
export function faultTokenGuard(token: string): {
  assertAllowed(knobs: FaultKnobs, header: string | string[] | undefined): void;
} {
  const expected = token === '' ? null : digest(token);
  return {
    assertAllowed(knobs, header) {
      if (expected === null || !usesFaultKnobs(knobs)) return;
      // A repeated header is not a token: two values could be one guess each.
      const sent = typeof header === 'string' ? header : undefined;
      if (sent !== undefined && timingSafeEqual(digest(sent), expected)) return;
      throw new HttpProblem(
        403,
        sent === undefined
          ? `delay and responseCode are fault knobs: setting them requires the ${FAULT_TOKEN_HEADER} header.`
          : `The ${FAULT_TOKEN_HEADER} header does not match the configured token.`,
        FAULT_TOKEN_HEADER,
      );
    },
  };
}
