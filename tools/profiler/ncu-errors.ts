/**
 * Reading why ncu produced no profile: the conditions under which profiling is unavailable on this
 * host (no permission for counters, no GPU) get a reason that says what to do; anything else is a
 * failure of this one profile.
 */

/** What ncu prints when the driver denies counter access (NVreg_RestrictProfilingToAdminUsers=1). */
export const ERR_NVGPUCTRPERM =
  "==ERROR== ERR_NVGPUCTRPERM - The user does not have permission to access NVIDIA GPU Performance Counters on the target device 0. For instructions on enabling permissions and to get more information see https://developer.nvidia.com/ERR_NVGPUCTRPERM";

const CONTINUES = "The search goes on with timing feedback only.";

/** Hint for ERR_NVGPUCTRPERM: the three ways out, most common first. */
export const PERMISSION_HINT =
  "run kforge as root (or with CAP_SYS_ADMIN; in Docker: --cap-add SYS_ADMIN), or allow profiling for all users: " +
  "`echo 'options nvidia NVreg_RestrictProfilingToAdminUsers=0' | sudo tee /etc/modprobe.d/nvidia-profiling.conf` then reload the driver or reboot " +
  "(https://developer.nvidia.com/ERR_NVGPUCTRPERM)";

const NO_GPU = [
  /no CUDA-capable device/i,
  /cudaErrorNoDevice/,
  /CUDA_ERROR_NO_DEVICE/,
  /No supported (GPU|device)s? (were )?found/i,
  /==ERROR== .*(failed to initialize|no device)/i,
  /NVIDIA driver on your system is too old|Found no NVIDIA driver/i,
];

/** A reason when profiling cannot work on this host at all (so later candidates need not try), else null. */
export function unavailableReason(text: string): string | null {
  if (/ERR_NVGPUCTRPERM/.test(text)) {
    return `ncu may not read the GPU's performance counters (ERR_NVGPUCTRPERM): ${PERMISSION_HINT}. ${CONTINUES}`;
  }
  if (NO_GPU.some((re) => re.test(text))) {
    const line =
      text
        .split("\n")
        .find((l) => NO_GPU.some((re) => re.test(l)))
        ?.trim() ?? "";
    return `no usable NVIDIA GPU for ncu (${line.slice(0, 200)}): profile on a GPU host (check nvidia-smi and CUDA_VISIBLE_DEVICES / KFORGE_GPUS). ${CONTINUES}`;
  }
  return null;
}

/** ncu's own ==ERROR== / ==WARNING== lines, for a failure message. */
export function ncuDiagnostics(text: string, max = 6): string[] {
  return text
    .split("\n")
    .filter((l) => /^==(ERROR|WARNING)==/.test(l.trim()))
    .slice(0, max)
    .map((l) => l.trim().slice(0, 300));
}

/** Metric names ncu rejected ("Failed to find metric ..."), to retry without them. */
export function rejectedMetrics(text: string, requested: string[]): string[] {
  const errors = text.split("\n").filter((l) => l.includes("==ERROR=="));
  return requested.filter((m) => errors.some((l) => l.includes(m) || l.includes(m.split(".")[0] as string)));
}

/** True when ncu ran but nothing matched the NVTX range / kernel filter. */
export function noKernelsProfiled(text: string): boolean {
  return /No kernels were profiled/i.test(text);
}
