"""The option names ONNX Runtime's CUDA and TensorRT providers take, as its sources list them.

ONNX Runtime refuses an option its parser does not know (ProviderOptionsParser); the GPU stand-in
refuses the same names, so a misspelt option fails in CI and not on a user's first GPU run.
"""

PROVIDER_OPTIONS = {
    # ONNX Runtime's `cuda::provider_option_names` (onnxruntime/core/providers/cuda/cuda_execution_provider_info.cc)
    "CUDAExecutionProvider": frozenset({
        "device_id", "has_user_compute_stream", "user_compute_stream", "gpu_mem_limit", "arena_extend_strategy",
        "cudnn_conv_algo_search", "do_copy_in_default_stream", "gpu_external_alloc", "gpu_external_free",
        "gpu_external_empty_cache", "cudnn_conv_use_max_workspace", "enable_cuda_graph", "cudnn_conv1d_pad_to_nc1d",
        "tunable_op_enable", "tunable_op_tuning_enable", "tunable_op_max_tuning_duration_ms",
        "enable_skip_layer_norm_strict_mode", "prefer_nhwc", "use_ep_level_unified_stream", "use_tf32",
    }),
    # ONNX Runtime's `tensorrt::provider_option_names`
    # (onnxruntime/core/providers/tensorrt/tensorrt_execution_provider_info.cc, 1.20 and later)
    "TensorrtExecutionProvider": frozenset({
        "device_id", "has_user_compute_stream", "user_compute_stream", "trt_max_partition_iterations",
        "trt_min_subgraph_size", "trt_max_workspace_size", "trt_fp16_enable", "trt_int8_enable",
        "trt_int8_calibration_table_name", "trt_int8_use_native_calibration_table", "trt_dla_enable", "trt_dla_core",
        "trt_dump_subgraphs", "trt_engine_cache_enable", "trt_engine_cache_path", "trt_weight_stripped_engine_enable",
        "trt_onnx_model_folder_path", "trt_engine_cache_prefix", "trt_engine_decryption_enable",
        "trt_engine_decryption_lib_path", "trt_force_sequential_engine_build", "trt_context_memory_sharing_enable",
        "trt_layer_norm_fp32_fallback", "trt_timing_cache_enable", "trt_timing_cache_path", "trt_force_timing_cache",
        "trt_detailed_build_log", "trt_build_heuristics_enable", "trt_sparsity_enable",
        "trt_builder_optimization_level", "trt_auxiliary_streams", "trt_tactic_sources", "trt_extra_plugin_lib_paths",
        "trt_profile_min_shapes", "trt_profile_max_shapes", "trt_profile_opt_shapes", "trt_cuda_graph_enable",
        "trt_ep_context_embed_mode", "trt_ep_context_file_path", "trt_dump_ep_context_model",
        "trt_engine_hw_compatible", "trt_onnx_bytestream", "trt_onnx_bytestream_size",
        "trt_external_data_bytestream", "trt_external_data_bytestream_size", "trt_op_types_to_exclude",
    }),
    "CPUExecutionProvider": frozenset(),
}  # fmt: skip
"""The option names ONNX Runtime's parser takes per provider; it refuses any other (ProviderOptionsParser)."""
