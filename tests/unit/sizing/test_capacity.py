"""The sizing model against cases computed by hand (the arithmetic is in the comments).

Shared figures (docs/sizing.md):
  GiB = 1,073,741,824 B; BF16 weights 19,300,000,000 B; FP8 weights 11,000,000,000 B
  GDN layer state = 32 x 128 x 128 x 4 B + (2 x 16 x 128 + 32 x 128) x 3 x 2 B
                  = 2,097,152 + 49,152 = 2,146,304 B
  attention K+V per token per layer = 2 x 4 x 256 x 2 B = 4,096 B (x 8 layers = 32,768 B)
  block = 16 x ceil(2,146,304 / (16 x 4,096)) = 16 x ceil(32.75) = 528 tokens
  block bytes (8 layers) = 8 x 528 x 4,096 = 17,301,504 B; GDN state = 3 blocks
  GPU seconds per token: 1 / 29,822 at output share 128 / 1,152 = 0.111111,
                         1 / 11,527 at output share 281,412 / 623,470 = 0.451364
  loaded TPOT 0.0151 s
"""

import pytest

from agent.capacity import (
    CapacityError,
    Dtype,
    Limit,
    Server,
    Workload,
    block_tokens,
    estimate,
    gdn_layer_state_bytes,
    kv_bytes_per_token,
)

REL = 1e-4


def test_architecture_figures_match_the_reference() -> None:
    assert kv_bytes_per_token() == 32 * 1024  # the reference's 32 KiB per token in BF16
    assert gdn_layer_state_bytes() == 2_146_304
    assert block_tokens() == 528  # the block size the reference reports (vLLM #40696)


def test_h100_at_the_throughput_profile_is_compute_bound() -> None:
    result = estimate(Server(80), Workload(1024, 128, turns_per_conversation=6))
    # budget = 80 x 0.9 x GiB - 19.3e9 - 2 GiB
    #        = 77,309,411,328 - 19,300,000,000 - 2,147,483,648 = 55,861,927,680
    assert result.memory.kv_budget_bytes == 55_861_927_680
    # 1,152 tokens: ceil(1152 / 528) = 3 KV blocks + 3 GDN blocks = 6 x 17,301,504
    assert result.memory.sequence_bytes == 103_809_024
    assert result.memory.sequences == 538  # 55,861,927,680 // 103,809,024 = 538.1
    # latency = 1024 / 29,822 + 128 x 0.0151 = 0.034337 + 1.9328 = 1.967137 s
    assert result.call_latency_s == pytest.approx(1.967137, rel=REL)
    # compute: 29,822 / 1,152 = 25.8872 calls/s (the profile itself)
    assert result.calls_per_s[Limit.COMPUTE] == pytest.approx(25.8872, rel=REL)
    # max-num-seqs: 256 / 1.967137 = 130.138; memory: 538 / 1.967137 = 273.494
    assert result.calls_per_s[Limit.MAX_NUM_SEQS] == pytest.approx(130.138, rel=REL)
    assert result.calls_per_s[Limit.MEMORY] == pytest.approx(273.494, rel=REL)
    assert result.binding is Limit.COMPUTE
    assert result.turns_per_s == pytest.approx(25.8872, rel=REL)
    # in a turn: 25.8872 x 1.967137 = 50.924; open: 25.8872 x (1.967137 + 30) = 827.54
    assert result.conversations_in_a_turn == pytest.approx(50.924, rel=REL)
    assert result.open_conversations == pytest.approx(827.54, rel=REL)
    # per hour: 25.8872 x 3600 / 6 = 15,532.3
    assert result.conversations_per_hour == pytest.approx(15_532.3, rel=REL)


def test_a_24_gib_card_with_long_prompts_is_memory_bound() -> None:
    result = estimate(Server(24), Workload(8000, 300, turns_per_conversation=4))
    # budget = 24 x 0.9 x GiB - 19.3e9 - 2 GiB = 23,192,823,398.4 - 19,300,000,000
    #        - 2,147,483,648 = 1,745,339,750
    assert result.memory.kv_budget_bytes == 1_745_339_750
    # 8,300 tokens: ceil(8300 / 528) = 16 KV blocks + 3 = 19 x 17,301,504 = 328,728,576
    assert result.memory.sequence_bytes == 328_728_576
    assert result.memory.sequences == 5  # 1,745,339,750 / 328,728,576 = 5.31
    # output share 300 / 8,300 = 0.036 is below 0.111: costed like the throughput profile
    # latency = 8000 / 29,822 + 300 x 0.0151 = 0.268258 + 4.53 = 4.798258 s
    assert result.call_latency_s == pytest.approx(4.798258, rel=REL)
    # memory 5 / 4.798258 = 1.04205 < compute 29,822 / 8,300 = 3.59301 < 256 / 4.798 = 53.35
    assert result.binding is Limit.MEMORY
    assert result.turns_per_s == pytest.approx(1.04205, rel=REL)
    assert result.calls_per_s[Limit.COMPUTE] == pytest.approx(3.59301, rel=REL)


def test_a_low_max_num_seqs_binds() -> None:
    result = estimate(Server(80, max_num_seqs=16), Workload(1024, 128, 6))
    # 16 / 1.967137 = 8.13365 calls/s, below compute's 25.8872 and memory's 273.494
    assert result.binding is Limit.MAX_NUM_SEQS
    assert result.turns_per_s == pytest.approx(8.13365, rel=REL)


def test_compute_is_interpolated_between_the_profiles_and_calls_make_turns() -> None:
    result = estimate(Server(80), Workload(800, 200, 5, calls_per_turn=2))
    # share 200 / 1,000 = 0.2: s = 1/29,822 + (1/11,527 - 1/29,822)
    #   x (0.2 - 0.111111) / (0.451364 - 0.111111)
    #   = 3.353229e-5 + 5.322055e-5 x 0.261244 = 4.743581e-5 s per token
    # compute: 1 / (4.743581e-5 x 1,000) = 21.0811 calls/s = 10.5406 turns/s (2 calls each)
    assert result.calls_per_s[Limit.COMPUTE] == pytest.approx(21.0811, rel=REL)
    assert result.binding is Limit.COMPUTE
    assert result.turns_per_s == pytest.approx(10.5406, rel=REL)
    # latency = 800 x 4.743581e-5 + 200 x 0.0151 = 0.037949 + 3.02 = 3.057949 s
    assert result.call_latency_s == pytest.approx(3.057949, rel=REL)
    # 1,000 tokens: 2 + 3 blocks = 86,507,520 B: 55,861,927,680 // 86,507,520 = 645
    assert result.memory.sequences == 645
    # open: 10.5406 x (2 x 3.057949 + 30) = 10.5406 x 36.115898 = 380.68
    assert result.open_conversations == pytest.approx(380.68, rel=REL)


def test_a_decode_heavy_workload_is_costed_like_sharegpt() -> None:
    result = estimate(Server(80), Workload(100, 900, 3))
    # share 0.9 is above 0.451: 1 / 11,527 s per token; 11,527 / 1,000 = 11.527 calls/s
    assert result.calls_per_s[Limit.COMPUTE] == pytest.approx(11.527, rel=REL)


def test_fp8_weights_fit_a_16_gib_card() -> None:
    result = estimate(Server(16, dtype=Dtype.FP8), Workload(4000, 200, 6))
    # budget = 16 x 0.9 x GiB - 11e9 - 2 GiB = 15,461,882,265.6 - 11,000,000,000
    #        - 2,147,483,648 = 2,314,398,617
    assert result.memory.kv_budget_bytes == 2_314_398_617
    # 4,200 tokens: ceil(4200 / 528) = 8 + 3 = 11 blocks = 190,316,544 B: 12 fit (12.16)
    assert result.memory.sequences == 12


def test_compute_scale_slows_compute_and_latency_alike() -> None:
    result = estimate(Server(80, compute_scale=0.5), Workload(1024, 128, 6))
    # 25.8872 x 0.5 = 12.9436 calls/s; latency 1.967137 / 0.5 = 3.934274 s
    assert result.calls_per_s[Limit.COMPUTE] == pytest.approx(12.9436, rel=REL)
    assert result.call_latency_s == pytest.approx(3.934274, rel=REL)


def test_weights_that_do_not_fit_say_so() -> None:
    # 16 x 0.9 GiB = 15.46 GB < 19.3 GB of BF16 weights
    with pytest.raises(CapacityError, match=r"bf16 weights \(19.3 GB\) do not fit.*--dtype fp8"):
        estimate(Server(16), Workload(4000, 200, 6))


def test_room_for_the_weights_but_not_one_sequence() -> None:
    # 201,000 tokens: ceil(201000 / 528) = 381 + 3 = 384 blocks = 6.19 GiB > 1.63 GiB left
    with pytest.raises(CapacityError, match="not enough for one sequence of 201000 tokens"):
        estimate(Server(24), Workload(200_000, 1000, 2))


@pytest.mark.parametrize(
    ("server", "workload", "option"),
    [
        (Server(-80), Workload(1000, 100, 5), "--gpu-mem-gb"),
        (Server(80, gpu_util=1.5), Workload(1000, 100, 5), "--gpu-util"),
        (Server(80, gpu_util=0), Workload(1000, 100, 5), "--gpu-util"),
        (Server(80, max_num_seqs=0), Workload(1000, 100, 5), "--max-num-seqs"),
        (Server(80, overhead_gib=-1), Workload(1000, 100, 5), "--overhead-gb"),
        (Server(80, compute_scale=0), Workload(1000, 100, 5), "--compute-scale"),
        (Server(80), Workload(-1000, 100, 5), "--avg-prompt-tokens"),
        (Server(80), Workload(1000, -1, 5), "--avg-output-tokens"),
        (Server(80), Workload(1000, 100, 0), "--turns-per-conversation"),
        (Server(80), Workload(1000, 100, 5, calls_per_turn=0.5), "--calls-per-turn"),
        (Server(80), Workload(1000, 100, 5, reply_gap_s=-1), "--reply-gap-s"),
        (Server(80), Workload(262_000, 1000, 5), "native context of 262144"),
    ],
)
def test_bad_input_names_the_option(server: Server, workload: Workload, option: str) -> None:
    with pytest.raises(CapacityError, match=option):
        estimate(server, workload)
