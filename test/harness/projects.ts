/**
 * The jest projects and what each needs from the harness. External-cluster runs (KUBECONFIG set)
 * select only the projects that need no local database.
 */
export const PROJECT_NEEDS: Record<string, { kube: boolean; databases: boolean }> = {
  unit: { kube: false, databases: false },
  kube: { kube: true, databases: false },
  databases: { kube: false, databases: true },
  integration: { kube: true, databases: true },
};
