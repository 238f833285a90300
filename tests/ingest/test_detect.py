"""Format detection by content: every format, plain and gzip, ties, thresholds, errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from rca._errors import IngestError
from rca.ingest import parse_logs
from rca.ingest._detect import MIN_SHARE, detect, sample_lines, score_lines
from rca.ingest.formats._base import ParseState

# Lines shaped after each format's public documentation (nginx log_format "combined",
# distribution's logrus output, AWS ALB / CloudFront access-log docs, Cloudflare Logpush
# http_requests fields).
_COMBINED = [
    '203.0.113.7 - - [04/May/2023:10:01:02 +0000] "GET /v2/ HTTP/1.1" 401 87 "-" "docker/24.0.7 go/go1.20.10 kernel/5.15.0-91-generic os/linux arch/amd64"',
    '198.51.100.23 - alice [04/May/2023:12:01:03 +0200] "GET /v2/library/alpine/manifests/3.18 HTTP/1.1" 200 1638 "-" "containerd/1.6.21"',
    '2001:db8:1::7 - - [04/May/2023:03:01:04 -0700] "HEAD /v2/myorg/app/blobs/sha256:ab12 HTTP/1.1" 404 0 "-" "curl/7.68.0"',
]
SAMPLES: dict[str, list[str]] = {
    "combined": _COMBINED,
    "nginx_timing": [
        line + f" {t} 10.0.0.{i}:5000 {u}"
        for i, (line, t, u) in enumerate(
            zip(_COMBINED, ["0.005", "1.250", "0.000"], ["0.004", "1.249", "-"], strict=True)
        )
    ],
    "registry_text": [
        'time="2023-05-04T10:01:02.123456789Z" level=info msg="response completed" go.version=go1.20.3 http.request.host="registry.example.com" http.request.id=0d9b1a7c http.request.method=GET http.request.remoteaddr="203.0.113.9:51234" http.request.uri="/v2/library/alpine/manifests/3.18" http.request.useragent="containerd/1.6.21" http.response.contenttype="application/vnd.oci.image.index.v1+json" http.response.duration=2.2ms http.response.status=200 http.response.written=1638',
        'time="2023-05-04T10:01:03.5Z" level=info msg="response completed" go.version=go1.20.3 http.request.host="registry.example.com" http.request.id=1e2f3a4b http.request.method=HEAD http.request.remoteaddr="203.0.113.9:51235" http.request.uri="/v2/library/alpine/blobs/sha256:ab12" http.request.useragent="containerd/1.6.21" http.response.duration=941.5µs http.response.status=404 http.response.written=0',
        'time="2023-05-04T10:01:04Z" level=error msg="response completed with error" err.code="blob unknown" err.message="blob unknown to registry" go.version=go1.20.3 http.request.method=GET http.request.remoteaddr="203.0.113.10:40000" http.request.uri="/v2/library/alpine/blobs/sha256:cd34" http.request.useragent="docker/24.0.7" http.response.duration=1m3.2s http.response.status=404 http.response.written=157',
    ],
    "registry_json": [
        '{"go.version":"go1.20.3","http.request.host":"registry.example.com","http.request.id":"0d9b1a7c","http.request.method":"GET","http.request.remoteaddr":"203.0.113.9:51234","http.request.uri":"/v2/","http.request.useragent":"docker/24.0.7","http.response.duration":"2.2ms","http.response.status":200,"http.response.written":2,"level":"info","msg":"response completed","time":"2023-05-04T10:01:02.123456789Z"}',
        '{"go.version":"go1.20.3","http.request.method":"HEAD","http.request.remoteaddr":"203.0.113.9:51235","http.request.uri":"/v2/library/alpine/blobs/sha256:ab12","http.request.useragent":"containerd/1.6.21","http.response.duration":"941.5µs","http.response.status":404,"http.response.written":0,"level":"info","msg":"response completed","time":"2023-05-04T10:01:03Z"}',
        '{"err.code":"manifest unknown","err.message":"manifest unknown","go.version":"go1.20.3","http.request.method":"GET","http.request.remoteaddr":"203.0.113.10:40000","http.request.uri":"/v2/library/alpine/manifests/nope","http.request.useragent":"docker/24.0.7","http.response.duration":"1m3.2s","http.response.status":404,"http.response.written":96,"level":"error","msg":"response completed with error","time":"2023-05-04T10:01:04Z"}',
    ],
    "nginx_json": [
        '{"time_iso8601":"2023-05-04T10:01:02+00:00","remote_addr":"203.0.113.7","request_method":"GET","request_uri":"/v2/","request":"GET /v2/ HTTP/1.1","status":"401","body_bytes_sent":"87","request_time":"0.001","upstream_addr":"10.0.0.5:5000","upstream_response_time":"0.001","http_user_agent":"docker/24.0.7","http_x_forwarded_for":""}',
        '{"time_iso8601":"2023-05-04T12:01:03+02:00","remote_addr":"198.51.100.23","request_method":"GET","request_uri":"/v2/library/alpine/manifests/3.18","request":"GET /v2/library/alpine/manifests/3.18 HTTP/1.1","status":"200","body_bytes_sent":"1638","request_time":"0.020","upstream_addr":"10.0.0.5:5000","upstream_response_time":"0.019","http_user_agent":"containerd/1.6.21","http_x_forwarded_for":"192.0.2.1"}',
        '{"time_iso8601":"2023-05-04T03:01:04-07:00","remote_addr":"2001:db8:1::7","request_method":"HEAD","request_uri":"/v2/myorg/app/blobs/sha256:ab12","request":"HEAD /v2/myorg/app/blobs/sha256:ab12 HTTP/1.1","status":"502","body_bytes_sent":"0","request_time":"5.000","upstream_addr":"10.0.0.6:5000","upstream_response_time":"-","http_user_agent":"curl/7.68.0","http_x_forwarded_for":""}',
    ],
    "alb": [
        'http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337262-36d228ad5d99923122bbe354" "-" "-" 0 2018-07-02T22:22:48.364000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-"',
        'https 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "GET https://www.example.com:443/ HTTP/1.1" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337281-1d84f3d73c47ec4e58577259" "www.example.com" "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" 1 2018-07-02T22:22:48.364000Z "authenticate,forward" "-" "-" "10.0.0.1:80" "200" "-" "-"',
        'h2 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 10.0.1.252:48160 - -1 -1 -1 502 - 116 403 "GET https://10.0.2.105:773/ HTTP/2.0" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337327-72bd00b0343d75b906739c42" "-" "-" 1 2018-07-02T22:22:48.364000Z "redirect" "https://example.com:80/" "-" "-" "-" "-" "-"',
    ],
    "cloudfront": [
        "#Version: 1.0",
        "#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end",
        "2019-12-04\t21:02:31\tLAX1\t392\t192.0.2.100\tGET\td111111abcdef8.cloudfront.net\t/index.html\t200\t-\tMozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/78.0.3904.108%20Safari/537.36\t-\t-\tHit\tSOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==\td111111abcdef8.cloudfront.net\thttps\t23\t0.001\t-\tTLSv1.2\tECDHE-RSA-AES128-GCM-SHA256\tHit\tHTTP/2.0\t-\t-\t11040\t0.001\tHit\ttext/html\t78\t-\t-",
        "2019-12-04\t21:02:31\tLAX1\t392\t192.0.2.100\tGET\td111111abcdef8.cloudfront.net\t/index.html\t200\t-\tMozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/78.0.3904.108%20Safari/537.36\t-\t-\tHit\tk6WGMNkEzR5BEM_SaF47gjtX9zBDO2m349OY2an0QPEaUum1ZOLrow==\td111111abcdef8.cloudfront.net\thttps\t23\t0.000\t-\tTLSv1.2\tECDHE-RSA-AES128-GCM-SHA256\tHit\tHTTP/2.0\t-\t-\t11040\t0.000\tHit\ttext/html\t78\t-\t-",
        "2019-12-04\t21:02:31\tLAX1\t392\t192.0.2.100\tGET\td111111abcdef8.cloudfront.net\t/index.html\t200\t-\tMozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/78.0.3904.108%20Safari/537.36\t-\t-\tHit\tf37nTMVvnKvV2ZSvEsivup_c2kZ7VXzYdjC-GUQZ5qNs-89BlWazbw==\td111111abcdef8.cloudfront.net\thttps\t23\t0.001\t-\tTLSv1.2\tECDHE-RSA-AES128-GCM-SHA256\tHit\tHTTP/2.0\t-\t-\t11040\t0.001\tHit\ttext/html\t78\t-\t-",
    ],
    "cloudflare": [
        '{"ClientASN":2856,"ClientCountry":"gb","ClientIP":"192.0.2.1","ClientRequestHost":"registry.example.com","ClientRequestMethod":"GET","ClientRequestURI":"/v2/","ClientRequestUserAgent":"docker/24.0.7","EdgeColoCode":"LHR","EdgeResponseBytes":87,"EdgeResponseStatus":401,"EdgeStartTimestamp":"2023-05-04T10:01:02Z","EdgeEndTimestamp":"2023-05-04T10:01:02Z","OriginIP":"10.0.0.5","OriginResponseStatus":401,"RayID":"7c1d2f3a4b5c6d7e"}',
        '{"ClientASN":16509,"ClientCountry":"us","ClientIP":"198.51.100.23","ClientRequestHost":"registry.example.com","ClientRequestMethod":"GET","ClientRequestURI":"/v2/library/alpine/manifests/3.18","ClientRequestUserAgent":"containerd/1.6.21","EdgeColoCode":"IAD","EdgeResponseBytes":1638,"EdgeResponseStatus":200,"EdgeStartTimestamp":1683194463,"EdgeEndTimestamp":1683194463,"OriginIP":"10.0.0.5","OriginResponseStatus":200,"RayID":"7c1d2f3a4b5c6d7f"}',
        '{"ClientASN":16509,"ClientCountry":"us","ClientIP":"2001:db8:1::7","ClientRequestHost":"registry.example.com","ClientRequestMethod":"HEAD","ClientRequestURI":"/v2/myorg/app/blobs/sha256:ab12","ClientRequestUserAgent":"curl/7.68.0","EdgeColoCode":"IAD","EdgeResponseBytes":0,"EdgeResponseStatus":502,"EdgeStartTimestamp":1683194464000000000,"EdgeEndTimestamp":1683194469000000000,"OriginIP":"","OriginResponseStatus":0,"RayID":"7c1d2f3a4b5c6d80"}',
    ],
}


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("name", list(SAMPLES))
def test_each_format_is_detected(write_log: Callable[..., Path], name: str, gz: bool) -> None:
    # A neutral file name: detection must go by content alone.
    path = write_log("access.dat", SAMPLES[name], gz=gz)
    assert detect(path).name == name
    parsed = parse_logs(path)
    assert parsed.quality.select("format", "records", "malformed").row(0) == (name, 3, 0)


def test_detection_survives_a_few_bad_lines_and_blank_lines(
    write_log: Callable[..., Path],
) -> None:
    lines = ["", "garbage", "", *_COMBINED * 3, "more garbage"]
    assert detect(write_log("a.log", lines)).name == "combined"


def test_sample_lines_drops_blank_lines_and_a_cut_last_line() -> None:
    assert sample_lines("a\r\n\n  \nb\nhalf-a-li") == ["a", "b"]
    assert sample_lines("only line, no newline") == ["only line, no newline"]
    assert sample_lines("x\n" * 500) == ["x"] * 200
    assert sample_lines("") == []


@dataclass(frozen=True)
class _Fixed:
    """A format whose sniff always answers the same share."""

    name: str
    share: float
    description: str = "test"

    def sniff(self, lines: list[str]) -> float:
        return self.share

    def parse(self, lines: pl.Series, state: ParseState) -> pl.DataFrame:
        raise NotImplementedError


def test_best_share_wins_and_ties_go_to_the_earlier_format() -> None:
    lines = ["anything"]
    assert score_lines(lines, [_Fixed("a", 0.6), _Fixed("b", 0.9)]).format == _Fixed("b", 0.9)
    tie = score_lines(lines, [_Fixed("first", 0.8), _Fixed("second", 0.8)])
    assert tie.format is not None and tie.format.name == "first"
    below = score_lines(lines, [_Fixed("weak", MIN_SHARE - 0.01)])
    assert below.format is None and below.score == pytest.approx(MIN_SHARE - 0.01)
    assert score_lines(lines, [_Fixed("just", MIN_SHARE)]).format == _Fixed("just", MIN_SHARE)


def test_formats_after_a_perfect_share_are_not_sniffed() -> None:
    class _Unasked(_Fixed):
        def sniff(self, lines: list[str]) -> float:
            raise AssertionError("sniffed after a perfect share")

    found = score_lines(["x"], [_Fixed("low", 0.5), _Fixed("all", 1.0), _Unasked("later", 1.0)])
    assert found.format is not None and found.format.name == "all"


def test_unknown_content_error_shows_file_line_and_formats(
    write_log: Callable[..., Path],
) -> None:
    path = write_log("weird.log", ["\x1b]0;pwned\x07 hello " + "z" * 300, "second"])
    with pytest.raises(IngestError) as info:
        detect(path)
    message = str(info.value)
    assert info.value.path == str(path)
    assert "\x1b" not in message and "\x07" not in message
    assert "\\x1b]0;pwned\\x07 hello zzz" in message
    assert "z" * 100 not in message
    for name in ("combined", "registry_text", "registry_json"):
        assert name in message


def test_empty_file_has_no_format(write_log: Callable[..., Path]) -> None:
    with pytest.raises(IngestError, match="the file has no text lines"):
        detect(write_log("empty.log", b""))
