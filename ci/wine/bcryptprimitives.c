/*
 * Minimal stand-in for Windows' bcryptprimitives.dll, for running Rust test
 * binaries under Wine 8 (Debian 12), which does not ship this DLL.
 *
 * Rust's std on x86_64-pc-windows-gnu imports ProcessPrng from
 * bcryptprimitives.dll (used e.g. for HashMap's RandomState seed). Without the
 * DLL every test executable fails to load (exit code 53). We implement
 * ProcessPrng on top of advapi32's SystemFunction036 (a.k.a. RtlGenRandom),
 * which Wine does provide.
 */
#include <windows.h>

/* RtlGenRandom; declared here instead of via <ntsecapi.h> to avoid its
 * macro renaming. Its length parameter is a ULONG (32 bits). */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    /* SIZE_T is 64-bit, ULONG is 32-bit: feed RtlGenRandom in chunks. */
    const SIZE_T max_chunk = 0x7fffffff;

    while (len > 0) {
        ULONG chunk = (ULONG)(len < max_chunk ? len : max_chunk);
        if (!SystemFunction036(data, chunk))
            return FALSE; /* the real ProcessPrng never fails; be honest here */
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
