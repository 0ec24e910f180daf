/* gemm_amxemu.c — the AMX tier (gemm_amx.c) compiled against the tile model of amx_emu.c: *_amxemu functions that run
 * on every CPU, for the suite and for BERTC_AMX=emulate (see amx.h). */
#define BERTC_AMX_EMULATED 1
#include "gemm_amx.c"
