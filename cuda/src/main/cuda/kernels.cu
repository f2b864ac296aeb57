// The one translation unit nvcc compiles into kernels.fatbin: every kernel family, one file
// each. Entry points are extern "C" and named <op>_<dtype>; each file states launch shapes.
#include "embedding.cu"
#include "norm.cu"
#include "allreduce.cu"
#include "rope_cache.cu"
#include "attention.cu"
#include "activation.cu"
#include "sampling.cu"
#include "random.cu"
#include "gemv.cu"
#include "gemv_fused.cu"
#include "w4a16.cu"
#include "w4a16_fused.cu"
