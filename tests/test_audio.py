"""erc_bench.core.audio: every format and every bad-audio case, on files written in the test."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from erc_bench.core.audio import AudioError, audio_duration, load_audio, source_digest
from erc_bench.core.cache import Cache
from erc_bench.core.errors import UserError
from erc_bench.core.interfaces import SAMPLE_RATE, AudioSource


def tone(seconds: float, rate: int, freq: float = 440.0, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    mono = (0.4 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.stack([mono] * channels, axis=1) if channels > 1 else mono


def write_mp4(path: Path, samples: np.ndarray, rate: int) -> None:
    """An AAC-in-MP4 clip written with PyAV, like MELD's clips (audio only)."""
    import av

    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=rate)
        stream.layout = "mono"
        step = 1024
        for start in range(0, samples.size, step):
            chunk = samples[start:start + step].reshape(1, -1).astype(np.float32)
            frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            frame.time_base = Fraction(1, rate)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


@pytest.mark.parametrize(("suffix", "fmt"), [(".wav", "WAV"), (".flac", "FLAC"), (".ogg", "OGG")])
def test_formats_decode_to_16k_mono(tmp_path: Path, suffix: str, fmt: str) -> None:
    path = tmp_path / f"clip{suffix}"
    sf.write(path, tone(1.5, 44_100, channels=2), 44_100, format=fmt)
    audio = load_audio(AudioSource(str(path)))
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(audio.size - int(1.5 * SAMPLE_RATE)) <= 2
    # the 440 Hz tone survives resampling: spectral peak within 2 Hz
    spectrum = np.abs(np.fft.rfft(audio))
    assert abs(np.argmax(spectrum) * SAMPLE_RATE / audio.size - 440) < 2


def test_mp3_decodes(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp3"
    if "MP3" in sf.available_formats():
        sf.write(path, tone(1.0, 22_050), 22_050, format="MP3")
    else:  # older libsndfile: write the mp3 with PyAV instead
        import av

        with av.open(str(path), "w", format="mp3") as container:
            stream = container.add_stream("mp3", rate=22_050)
            frame = av.AudioFrame.from_ndarray(tone(1.0, 22_050).reshape(1, -1), format="flt", layout="mono")
            frame.sample_rate = 22_050
            for packet in list(stream.encode(frame)) + list(stream.encode(None)):
                container.mux(packet)
    audio = load_audio(AudioSource(str(path)))
    assert abs(audio.size - SAMPLE_RATE) < 0.1 * SAMPLE_RATE


def test_offsets_select_the_right_span(tmp_path: Path) -> None:
    rate = 16_000
    signal = np.concatenate([tone(1.0, rate), np.zeros(rate, dtype=np.float32), tone(1.0, rate, 880.0)])
    path = tmp_path / "long.wav"
    sf.write(path, signal, rate)
    middle = load_audio(AudioSource(str(path), start=1.1, end=1.9))
    assert middle.size == int(0.8 * rate) and np.abs(middle).max() == 0.0
    last = load_audio(AudioSource(str(path), start=2.0))
    assert last.size == rate and abs(np.argmax(np.abs(np.fft.rfft(last))) - 880) <= 1
    assert audio_duration(AudioSource(str(path))) == pytest.approx(3.0)
    assert audio_duration(AudioSource(str(path), start=0.5, end=1.0)) == pytest.approx(0.5)
    # the digest covers offsets: two clips of one file never share cache entries
    assert source_digest(AudioSource(str(path), 0.0, 1.0)) != source_digest(AudioSource(str(path), 1.0, 2.0))


def test_mp4_clip_decodes_with_offsets_and_is_cached(tmp_path: Path) -> None:
    path = tmp_path / "dia1_utt0.mp4"
    write_mp4(path, tone(2.0, 48_000), 48_000)
    cache = Cache(tmp_path / "cache")
    audio = load_audio(AudioSource(str(path)), cache=cache)
    assert abs(audio.size - 2 * SAMPLE_RATE) < 0.05 * SAMPLE_RATE
    assert np.abs(audio).max() > 0.2
    assert cache.usage()["decoded-audio"][0] == 1
    again = load_audio(AudioSource(str(path)), cache=cache)
    np.testing.assert_array_equal(audio, again)
    clip = load_audio(AudioSource(str(path), start=0.5, end=1.5))
    assert abs(clip.size - SAMPLE_RATE) <= 2
    assert audio_duration(AudioSource(str(path))) == pytest.approx(2.0, abs=0.1)


def _expect_error(source: AudioSource, fragment: str) -> None:
    with pytest.raises(AudioError) as info:
        load_audio(source)
    assert isinstance(info.value, UserError)
    assert source.path in str(info.value) and fragment in str(info.value)


def test_bad_audio_is_a_one_line_error_naming_the_path(tmp_path: Path) -> None:
    _expect_error(AudioSource(str(tmp_path / "missing.wav")), "not found")
    (tmp_path / "empty.wav").write_bytes(b"")
    _expect_error(AudioSource(str(tmp_path / "empty.wav")), "empty")
    (tmp_path / "garbage.flac").write_bytes(np.random.default_rng(0).bytes(4096))
    _expect_error(AudioSource(str(tmp_path / "garbage.flac")), "")  # undecodable or no samples
    (tmp_path / "garbage.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(200))
    _expect_error(AudioSource(str(tmp_path / "garbage.mp4")), "cannot decode")
    sf.write(tmp_path / "zero.wav", np.zeros(0, dtype=np.float32), 16_000)
    _expect_error(AudioSource(str(tmp_path / "zero.wav")), "no audio samples")
    sf.write(tmp_path / "short.wav", tone(0.5, 16_000), 16_000)
    _expect_error(AudioSource(str(tmp_path / "short.wav"), start=3.0, end=4.0), "no audio samples")
    _expect_error(AudioSource(str(tmp_path / "short.wav"), start=0.4, end=0.2), "not after start")


def write_video(path: Path, with_audio: bool) -> None:
    """A tiny MPEG-4 video, optionally with a stereo AAC track: the shape of a MELD clip."""
    import av

    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream("mpeg4", rate=10)
        video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
        audio = container.add_stream("aac", rate=44_100) if with_audio else None
        if audio is not None:
            audio.layout = "stereo"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), i * 20, np.uint8), format="rgb24")
            frame.pts = i
            for packet in video.encode(frame):
                container.mux(packet)
        if audio is not None:
            samples = tone(1.0, 44_100, 300.0)
            for start in range(0, samples.size, 1024):
                chunk = np.ascontiguousarray(np.stack([samples[start:start + 1024]] * 2))
                frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
                frame.sample_rate, frame.pts, frame.time_base = 44_100, start, Fraction(1, 44_100)
                for packet in audio.encode(frame):
                    container.mux(packet)
            for packet in audio.encode(None):
                container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)


def test_video_clip_audio_track_and_video_without_audio(tmp_path: Path) -> None:
    clip = tmp_path / "dia3_utt1.mp4"
    write_video(clip, with_audio=True)
    audio = load_audio(AudioSource(str(clip)))
    assert abs(audio.size - SAMPLE_RATE) < 0.05 * SAMPLE_RATE and np.abs(audio).max() > 0.2
    assert load_audio(AudioSource(str(clip), start=0.25, end=0.75)).size == SAMPLE_RATE // 2
    silent = tmp_path / "silent.mp4"
    write_video(silent, with_audio=False)
    _expect_error(AudioSource(str(silent)), "no audio stream")
