/**
 * Which top-level keys of a policy file this version ignores. {@link Policy.unknownFields} holds
 * every unknown field by JSON path, but a path cannot tell a nested field (`identities[0].note`)
 * from a top-level key spelled the same way, so the top level is read from the policy text itself.
 */
import type { Policy } from './policy-model.ts';

/**
 * The top-level keys of a parsed policy that this version does not read, in the order `JSON.parse`
 * keeps them. A party shown a policy should learn that these are ignored, not silently honoured.
 */
export function unknownTopLevelKeys(policy: Pick<Policy, 'text' | 'unknownFields'>): string[] {
  const text = policy.text.startsWith('\uFEFF') ? policy.text.slice(1) : policy.text;
  const root = JSON.parse(text) as Record<string, unknown>;
  // No policy field is named __proto__, and unknownFields (a plain object) cannot hold it as its own key.
  return Object.keys(root).filter((key) => key === '__proto__' || Object.hasOwn(policy.unknownFields, key));
}
