/**
 * The names and labels a fleet gives its Kubernetes objects. Member and isolate names come from
 * the reconciler and the topology, which allow what Kubernetes does not (capitals, `.`, `_`, any
 * length), so every name is made a DNS-1035 label here, with a hash of the original when it had to
 * be changed or cut: two different isolates never share a Service because of the cleaning.
 */
import { createHash } from 'node:crypto';

/** The API group of the fleet's custom resources. */
export const GROUP = 'fleet.veracruz-ts.dev';
/** Their version. */
export const VERSION = 'v1alpha1';
/** The plural names the API serves them under. */
export const PLURALS = { computation: 'veracruzcomputations', pool: 'veracruzpools' } as const;

/** The label every object of a fleet carries, with {@link PART_OF} as its value. */
export const PART_OF_LABEL = 'app.kubernetes.io/part-of';
/** The value of {@link PART_OF_LABEL}. */
export const PART_OF = 'veracruz-fleet';
/** The label that tells the fleet's pods apart: `member`, `pas` or `operator`. */
export const COMPONENT_LABEL = 'app.kubernetes.io/component';
/** The label of a member pod naming its member, which its computation's Service selects. */
export const MEMBER_LABEL = `${GROUP}/member`;
/** The label of a computation's Services, naming the computation. */
export const COMPUTATION_LABEL = `${GROUP}/computation`;
/** Annotations with the exact names a label or object name may have had to change. */
export const ANNOTATIONS = { member: `${GROUP}/member-name`, computation: `${GROUP}/computation`, isolate: `${GROUP}/isolate` } as const;

/** The ports of the fleet's pods. */
export const PORTS = {
  /** The PAS (`vc-pas serve`), which serves its CA certificate there too (`GET /ca.pem`). */
  pas: 3010,
  /** A member's clients: parties and peer isolates. */
  client: 3017,
  /** A member's control API (the operator only). */
  control: 3018,
  /** The operator's read-only status API. */
  status: 8080,
} as const;

/** The Secrets the manifests refer to; the README says how to create them. */
export const SECRETS = {
  /** The bearer token of the members' control API, under the key `token`. */
  controlToken: { name: 'vc-control-token', key: 'token' },
  /** The linux development key that signs the members' evidence, and its public half that the PAS enrolls. */
  devKey: { name: 'vc-dev-key', privateKey: 'dev-key.pem', publicKey: 'dev-key.pub.pem' },
} as const;

const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const MAX_LABEL = 63;

/**
 * A DNS-1035 label from `parts` joined by `-` (the first part must start with a letter): the join
 * itself when it is one, else its lowercase with other characters as `-`, cut to fit and followed
 * by 8 hex digits of the parts' SHA-256, so that names changed by the cleaning stay apart.
 */
export function dnsLabel(parts: readonly string[]): string {
  const joined = parts.join('-');
  if (joined.length <= MAX_LABEL && DNS_1035_LABEL.test(joined)) return joined;
  const hash = createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 8);
  const cleaned = joined.toLowerCase().replace(/[^a-z0-9-]+/g, '-').slice(0, MAX_LABEL - hash.length - 1).replace(/-+$/, '');
  return `${cleaned}-${hash}`;
}

/** A member pod's name. */
export function memberPodName(member: string): string {
  return dnsLabel(['vc-member', member]);
}

/** The value of a member pod's {@link MEMBER_LABEL}: the member's name when it is a valid label value, else its pod's name. */
export function memberLabelValue(member: string): string {
  return member.length <= MAX_LABEL && LABEL_VALUE.test(member) ? member : memberPodName(member);
}

/** The Service of one isolate of a computation: `vc-<computation>-<isolate>`. */
export function memberServiceName(computation: string, isolate: string): string {
  return dnsLabel(['vc', computation, isolate]);
}
