"""The NVIDIA stack golf-rt's GPU code is written against: its versions, and every name it uses of it.

The versions are exact. A TensorRT plan loads only under the TensorRT version that built it, so
the TensorRT that builds engines here (the `gpu` extra) must be the one in the tritonserver
container that serves them. The pairs come from NVIDIA's Frameworks Support Matrix: Triton
25.10 is built on CUDA 13.0 and carries TensorRT 10.13.3 (CUDA 13.0 needs an R580 driver).
TensorRT 11 builds strongly typed networks only and no documented Triton container carries it
yet, so golf-rt stays on 10.x. pyproject.toml's `gpu` and `dev` extras, the Triton image
(`golf_rt.triton.kubernetes`) and the docs agree with these constants (tests/test_gpu_bindings.py).

The manifest below is every TensorRT, CUDA runtime and Polygraphy name that
`golf_rt/backends/gpu/tensorrt_device.py` and `golf_rt/backends/tensorrt/` use: a test reads
their source to keep it complete, and checks each name against TensorRT's compiled bindings of
this version (`tensorrt-cu13-bindings`, in the dev extra), cuda-bindings and Polygraphy, on a
machine without a GPU.
"""

TRITON_RELEASE = "25.10"
"""NVIDIA's tritonserver container whose TensorRT the `gpu` extra pins."""
CUDA = "13.0"
TENSORRT = "10.13.3.9"
TENSORRT_DISTRIBUTION = "tensorrt-cu13"
"""TensorRT for CUDA 13 (its libraries' wheels are on https://pypi.nvidia.com; PyPI has the stubs)."""
BINDINGS_DISTRIBUTION = "tensorrt-cu13-bindings"
"""TensorRT's compiled Python bindings alone, a wheel on PyPI; its module is `tensorrt_bindings`."""
BINDINGS_MARKER = "sys_platform == 'linux' and platform_machine == 'x86_64' and python_version < '3.14'"
"""Where the dev extra installs the bindings: the machines NVIDIA publishes a wheel of this version for."""

TENSORRT_NAMES = (
    # the device: golf_rt/backends/gpu/tensorrt_device.py
    "Logger.WARNING",
    "Runtime.deserialize_cuda_engine",
    "Runtime.engine_host_code_allowed",
    "OnnxParserFlag.NATIVE_INSTANCENORM",
    "MemoryPoolType.WORKSPACE",
    "IBuilderConfig.create_timing_cache",
    "IBuilderConfig.set_timing_cache.ignore_mismatch",
    "IBuilderConfig.get_timing_cache",
    "ITimingCache.serialize",
    "ExecutionContextAllocationStrategy.ON_PROFILE_CHANGE",
    "ICudaEngine.create_execution_context",
    # the loader: golf_rt/backends/tensorrt/loader.py
    "ICudaEngine.num_io_tensors",
    "ICudaEngine.get_tensor_name",
    "ICudaEngine.get_tensor_mode",
    "ICudaEngine.get_tensor_dtype",
    "ICudaEngine.num_optimization_profiles",
    "ICudaEngine.get_device_memory_size_for_profile_v2",
    "TensorIOMode.name",
    "TensorIOMode.INPUT",
    "TensorIOMode.OUTPUT",
    "DataType.name",
    "DataType.FLOAT",
    # the runner: golf_rt/backends/tensorrt/runner.py
    "IExecutionContext.set_optimization_profile_async",
    "IExecutionContext.set_input_shape",
    "IExecutionContext.set_tensor_address",
    "IExecutionContext.execute_async_v3",
)
"""Every TensorRT name golf-rt uses, as `Class.member` (`Class.method.keyword` for a keyword argument)."""

CUDA_RUNTIME_NAMES = (
    "cudaError_t.cudaSuccess",
    "cudaGetErrorString",
    "cudaGetDeviceCount",
    "cudaGetDeviceProperties",
    "cudaDeviceProp.name",
    "cudaDeviceProp.major",
    "cudaDeviceProp.minor",
    "cudaRuntimeGetVersion",
    "cudaMalloc",
    "cudaFree",
    "cudaMallocHost",
    "cudaFreeHost",
    "cudaMemcpyAsync",
    "cudaMemcpyKind.cudaMemcpyHostToDevice",
    "cudaMemcpyKind.cudaMemcpyDeviceToHost",
    "cudaStreamCreate",
    "cudaStreamSynchronize",
    "cudaStreamDestroy",
)
"""Every name golf-rt uses of cuda-python's runtime module, `cuda.bindings.runtime`."""

POLYGRAPHY_CALLS = (
    ("NetworkFromOnnxPath", 1, ("flags", "strongly_typed")),
    ("CreateConfig", 0, ("tf32", "profiles", "memory_pool_limits", "version_compatible")),
    ("EngineBytesFromNetwork", 2, ()),
    ("Profile", 0, ()),
    ("Profile.add", 4, ()),
)
"""Every call golf-rt makes of `polygraphy.backend.trt`: (name, positional arguments, keywords)."""
