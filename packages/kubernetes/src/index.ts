/**
 * `@veracruz-ts/kubernetes`: a fleet on Kubernetes. `kubernetesManifests` makes everything that
 * installs one in a namespace (custom resources, PAS, operator, NetworkPolicies), `kubernetesBackend`
 * runs the reconciler's members as pods, `runOperator` is the operator, and `vc-operator` does each
 * from the command line.
 */
export { apiErrorMessage, type KubernetesBackend, type KubernetesBackendOptions, kubernetesBackend, memberExitFromPod, pendingReason } from './backend.ts';
export { CA_PATH, checkCertificatePem, fetchCaCertificate } from './ca-certificate.ts';
export { type ComputationSpec, type ConfigMapContent, computationRequest, type ProgramReference, programBytes, programFile, readComputationSpec } from './computation.ts';
export {
  computationDefinition, crdName, DEFAULTS, DEV_KEY_NAME, type FleetManifestOptions, type FleetOptions, type KubernetesPlatform, kubernetesManifests, MAX_POOL,
  MEMBER_MEMORY_OVERHEAD_MIB, manifestsYaml, type MemberPodOptions, memberPod, memberService, memberServiceAddress, networkPolicies, operatorArguments, operatorRole,
  PLATFORMS, pasAddress, poolDefinition, RUN_AS_USER, resolveOptions,
} from './manifests.ts';
export {
  ANNOTATIONS, COMPONENT_LABEL, COMPUTATION_LABEL, dnsLabel, GROUP, MEMBER_LABEL, memberLabelValue, memberPodName, memberServiceName, PART_OF, PART_OF_LABEL, PLURALS, PORTS, SECRETS, VERSION,
} from './names.ts';
export { type OperatorOptions, POOL_NAME, type RunningOperator, runOperator, serveStatus } from './operator.ts';
export { type ComputationResourceStatus, computationResourceStatus, endedResourceStatus, type PoolResourceStatus, poolResourceStatus } from './resource-status.ts';
