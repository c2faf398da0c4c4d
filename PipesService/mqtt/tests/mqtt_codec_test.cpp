// mqtt_codec_test.cpp - unit tests of the MQTT 3.1.1 packet codec (PipesService/mqtt/mqtt_*.c):
// exact bytes of each packet, the round trip, and every rejection and limit of the decoder.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "mqtt_codec.h"

namespace {

typedef std::vector<uint8_t> bytes;

mqtt_view view(const std::string &s)
{
    mqtt_view v;
    v.data = reinterpret_cast<const uint8_t *>(s.data());
    v.len = s.size();
    return v;
}

std::string str(mqtt_view v)
{
    return std::string(reinterpret_cast<const char *>(v.data), v.len);
}

bytes encode(const mqtt_packet &p, mqtt_status expect = MQTT_OK)
{
    size_t len = 0;
    mqtt_encode(&p, nullptr, 0, &len); // learns the size
    bytes out(len + 1);
    EXPECT_EQ(expect, mqtt_encode(&p, out.data(), out.size(), &len));
    out.resize(expect == MQTT_OK ? len : 0);
    return out;
}

mqtt_status decode(const bytes &b, mqtt_packet *p, uint32_t max_packet = 0xFFFFFFFFu)
{
    size_t used = 0;
    mqtt_status st = mqtt_decode(b.data(), b.size(), max_packet, p, &used);
    if (st == MQTT_OK) {
        EXPECT_EQ(b.size(), used);
    }
    return st;
}

mqtt_status decode(const bytes &b)
{
    mqtt_packet p;
    return decode(b, &p);
}

// A packet with the given first byte and body, its remaining length in shortest form.
bytes packet(uint8_t first, const bytes &body)
{
    bytes out{first};
    size_t n = body.size();
    do {
        uint8_t d = n % 128;
        n /= 128;
        out.push_back(static_cast<uint8_t>(d | (n ? 0x80 : 0)));
    } while (n);
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

bytes field(const std::string &s)
{
    bytes out{static_cast<uint8_t>(s.size() >> 8), static_cast<uint8_t>(s.size() & 0xFF)};
    for (char c : s)
        out.push_back(static_cast<uint8_t>(c));
    return out;
}

bytes cat(std::initializer_list<bytes> parts)
{
    bytes out;
    for (const bytes &p : parts)
        out.insert(out.end(), p.begin(), p.end());
    return out;
}

mqtt_packet make(uint8_t type)
{
    mqtt_packet p;
    std::memset(&p, 0, sizeof p);
    p.type = type;
    return p;
}

mqtt_packet publish(const std::string &topic, const std::string &payload, uint8_t qos, uint16_t id)
{
    static std::string t, pl; // views must outlive the call
    t = topic;
    pl = payload;
    mqtt_packet p = make(MQTT_PUBLISH);
    p.topic = view(t);
    p.payload = view(pl);
    p.qos = qos;
    p.packet_id = id;
    return p;
}

// ---- remaining length ----------------------------------------------------------------------

TEST(MqttLength, Boundaries)
{
    const uint32_t lengths[] = {0, 1, 127, 128, 16383, 16384, 2097151, 2097152};
    const uint32_t header[] = {2, 2, 2, 3, 3, 4, 4, 5};
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        bytes b = packet(0x30, bytes(lengths[i], 'x'));
        mqtt_header h;
        ASSERT_EQ(MQTT_OK, mqtt_decode_header(b.data(), b.size(), 0xFFFFFFFFu, &h)) << lengths[i];
        EXPECT_EQ(lengths[i], h.remaining);
        EXPECT_EQ(header[i], h.header_len) << lengths[i];
        // The encoder picks the same (shortest) form.
        std::string payload(lengths[i] < 5 ? 0 : lengths[i] - 5, 'x');
        if (lengths[i] >= 5) {
            EXPECT_EQ(b.size(), encode(publish("t", payload, 1, 1)).size()) << lengths[i];
        }
    }
}

TEST(MqttLength, LargestFourByteValue)
{
    const uint8_t b[] = {0x30, 0xFF, 0xFF, 0xFF, 0x7F};
    mqtt_header h;
    ASSERT_EQ(MQTT_OK, mqtt_decode_header(b, sizeof b, 0xFFFFFFFFu, &h));
    EXPECT_EQ(268435455u, h.remaining);
    EXPECT_EQ(5u, h.header_len);
}

TEST(MqttLength, FiveBytesRefused)
{
    const uint8_t b[] = {0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01};
    mqtt_header h;
    EXPECT_EQ(MQTT_E_BAD_LENGTH, mqtt_decode_header(b, sizeof b, 0xFFFFFFFFu, &h));
    // Known as soon as the fourth length byte says "more follows".
    EXPECT_EQ(MQTT_E_BAD_LENGTH, mqtt_decode_header(b, 5, 0xFFFFFFFFu, &h));
}

TEST(MqttLength, OverlongFormsRefused)
{
    const bytes forms[] = {{0xC0, 0x80, 0x00},       {0xC0, 0x80, 0x80, 0x00},
                           {0xC0, 0x80, 0x80, 0x80, 0x00}, {0xC0, 0xFF, 0x00},
                           {0x30, 0x81, 0x80, 0x00}};
    for (const bytes &b : forms) {
        mqtt_header h;
        EXPECT_EQ(MQTT_E_BAD_LENGTH, mqtt_decode_header(b.data(), b.size(), 0xFFFFFFFFu, &h))
            << b.size();
    }
}

TEST(MqttLength, TruncatedIsNeedMore)
{
    const uint8_t b[] = {0x30, 0x80, 0x80, 0x80};
    mqtt_header h;
    for (size_t n = 0; n < sizeof b; n++)
        EXPECT_EQ(MQTT_NEED_MORE, mqtt_decode_header(b, n, 0xFFFFFFFFu, &h)) << n;
    bytes full = encode(publish("a/b", "payload", 1, 9));
    mqtt_packet p;
    size_t used = 0;
    for (size_t n = 0; n < full.size(); n++)
        EXPECT_EQ(MQTT_NEED_MORE, mqtt_decode(full.data(), n, 0xFFFFFFFFu, &p, &used)) << n;
}

TEST(MqttLength, TenMiBPublishRefusedFromItsHeader)
{
    // Only the fixed header of a 10 MiB PUBLISH has arrived: refused now, nothing more read.
    bytes b = packet(0x32, bytes());
    b.resize(1);
    uint32_t n = 10u * 1024 * 1024;
    for (; n; n /= 128)
        b.push_back(static_cast<uint8_t>((n % 128) | (n >= 128 ? 0x80 : 0)));
    mqtt_header h;
    ASSERT_EQ(MQTT_E_TOO_LARGE, mqtt_decode_header(b.data(), b.size(), 256 * 1024, &h));
    EXPECT_EQ(10u * 1024 * 1024, h.remaining); // filled, so the caller can skip the body
    EXPECT_EQ(0x32, h.first);
    mqtt_packet p;
    size_t used = 0;
    EXPECT_EQ(MQTT_E_TOO_LARGE, mqtt_decode(b.data(), b.size(), 256 * 1024, &p, &used));
}

TEST(MqttLength, MaxPacketCountsTheHeader)
{
    bytes b = encode(publish("t", std::string(100, 'x'), 0, 0));
    mqtt_packet p;
    EXPECT_EQ(MQTT_OK, decode(b, &p, static_cast<uint32_t>(b.size())));
    EXPECT_EQ(MQTT_E_TOO_LARGE, decode(b, &p, static_cast<uint32_t>(b.size() - 1)));
}

// ---- fixed header ------------------------------------------------------------------------

TEST(MqttHeader, ReservedTypesRefused)
{
    EXPECT_EQ(MQTT_E_BAD_TYPE, decode(bytes{0x00, 0x00}));
    EXPECT_EQ(MQTT_E_BAD_TYPE, decode(bytes{0xF0, 0x00}));
    mqtt_packet p = make(15);
    encode(p, MQTT_E_BAD_TYPE);
}

TEST(MqttHeader, NonMqttBytesFailFromTheFirstByte)
{
    // "HTTP/1.1 400": 'H' is a PUBACK type with reserved flags. Known before any length byte,
    // so a client talking to the wrong service fails at once instead of waiting for 84 bytes.
    const uint8_t http[] = {'H', 'T', 'T', 'P'};
    mqtt_header h;
    EXPECT_EQ(MQTT_E_BAD_FLAGS, mqtt_decode_header(http, 1, 0xFFFFFFFFu, &h));
    EXPECT_EQ(MQTT_E_BAD_FLAGS, mqtt_decode_header(http, sizeof http, 0xFFFFFFFFu, &h));
    const uint8_t reserved[] = {0xF0};
    EXPECT_EQ(MQTT_E_BAD_TYPE, mqtt_decode_header(reserved, 1, 0xFFFFFFFFu, &h));
}

TEST(MqttHeader, ReservedFlagsRefused)
{
    EXPECT_EQ(MQTT_E_BAD_FLAGS, decode(bytes{0x21, 0x02, 0x00, 0x00}));       // CONNACK
    EXPECT_EQ(MQTT_E_BAD_FLAGS, decode(bytes{0x42, 0x02, 0x00, 0x01}));       // PUBACK
    EXPECT_EQ(MQTT_E_BAD_FLAGS, decode(bytes{0x60, 0x02, 0x00, 0x01}));       // PUBREL needs 2
    EXPECT_EQ(MQTT_E_BAD_FLAGS, decode(packet(0x80, cat({{0, 1}, field("a"), {1}})))); // SUBSCRIBE
    EXPECT_EQ(MQTT_E_BAD_FLAGS, decode(bytes{0xC1, 0x00}));                   // PINGREQ
    EXPECT_EQ(MQTT_E_BAD_FLAGS, decode(bytes{0xE8, 0x00}));                   // DISCONNECT
    EXPECT_EQ(MQTT_E_BAD_FLAGS, decode(packet(0x36, cat({field("a"), {0, 1}})))); // QoS 3
    EXPECT_EQ(MQTT_E_BAD_FLAGS, decode(packet(0x38, field("a"))));            // DUP with QoS 0
}

// ---- CONNECT / CONNACK ----------------------------------------------------------------------

TEST(MqttConnect, ExactBytes)
{
    std::string id = "pipes-PC1", user = "u", pass = "p\x00w";
    pass.resize(3);
    mqtt_packet p = make(MQTT_CONNECT);
    p.client_id = view(id);
    p.user = view(user);
    p.password = view(pass);
    p.has_user = p.has_password = 1;
    p.keep_alive = 60;
    bytes b = encode(p);
    bytes want = packet(0x10, cat({field("MQTT"), {4, 0xC0, 0, 60}, field(id), field(user), field(pass)}));
    EXPECT_EQ(want, b); // clean session off: flags 0xC0
    mqtt_packet q;
    ASSERT_EQ(MQTT_OK, decode(b, &q));
    EXPECT_EQ(0, q.clean_session);
    EXPECT_EQ(60, q.keep_alive);
    EXPECT_EQ(id, str(q.client_id));
    EXPECT_EQ(pass, str(q.password));
}

TEST(MqttConnect, Refusals)
{
    bytes id = field("c");
    EXPECT_EQ(MQTT_E_UNSUPPORTED, decode(packet(0x10, cat({field("MQIsdp"), {3, 0, 0, 0}, id}))));
    EXPECT_EQ(MQTT_E_UNSUPPORTED, decode(packet(0x10, cat({field("MQTT"), {3, 0, 0, 0}, id}))));
    EXPECT_EQ(MQTT_E_UNSUPPORTED, decode(packet(0x10, cat({field("MQTT"), {4, 0x04, 0, 0}, id})))); // will
    EXPECT_EQ(MQTT_E_MALFORMED, decode(packet(0x10, cat({field("MQTT"), {4, 0x01, 0, 0}, id}))));   // reserved
    EXPECT_EQ(MQTT_E_MALFORMED, decode(packet(0x10, cat({field("MQTT"), {4, 0x20, 0, 0}, id}))));   // will retain
    EXPECT_EQ(MQTT_E_MALFORMED,
              decode(packet(0x10, cat({field("MQTT"), {4, 0x40, 0, 0}, id, field("pw")})))); // pw, no user
    EXPECT_EQ(MQTT_E_UTF8, decode(packet(0x10, cat({field("MQTT"), {4, 0, 0, 0}, field("\xC0\x80")}))));
    EXPECT_EQ(MQTT_E_MALFORMED, decode(packet(0x10, cat({field("MQTT"), {4, 0, 0, 0}, id, {0}})))); // trailing
    EXPECT_EQ(MQTT_E_MALFORMED, decode(packet(0x10, cat({field("MQTT"), {4, 0x80, 0, 0}, id})))); // user missing
    EXPECT_EQ(MQTT_E_MALFORMED, decode(packet(0x10, cat({field("MQTT"), {4, 0}}))));

    mqtt_packet p = make(MQTT_CONNECT);
    p.has_password = 1;
    encode(p, MQTT_E_MALFORMED);
    std::string nul("a\0b", 3);
    p = make(MQTT_CONNECT);
    p.client_id = view(nul);
    encode(p, MQTT_E_UTF8);
}

TEST(MqttConnack, ReturnCodesMapToClearStatuses)
{
    const mqtt_status want[] = {MQTT_OK,
                                MQTT_E_REFUSED_VERSION,
                                MQTT_E_REFUSED_IDENTIFIER,
                                MQTT_E_REFUSED_UNAVAILABLE,
                                MQTT_E_REFUSED_CREDENTIALS,
                                MQTT_E_REFUSED_NOT_AUTHORIZED,
                                MQTT_E_REFUSED_OTHER};
    for (uint8_t rc = 0; rc < 7; rc++) {
        mqtt_packet p;
        ASSERT_EQ(MQTT_OK, decode(bytes{0x20, 0x02, 0x00, rc}, &p));
        EXPECT_EQ(rc, p.return_code);
        EXPECT_EQ(want[rc], mqtt_connack_status(p.return_code));
    }
    EXPECT_EQ(MQTT_E_REFUSED_OTHER, mqtt_connack_status(255));
    EXPECT_STREQ("refused-credentials", mqtt_status_name(MQTT_E_REFUSED_CREDENTIALS));
    EXPECT_STREQ("refused-not-authorized", mqtt_status_name(MQTT_E_REFUSED_NOT_AUTHORIZED));
    EXPECT_STREQ("refused-identifier", mqtt_status_name(MQTT_E_REFUSED_IDENTIFIER));
}

TEST(MqttConnack, Refusals)
{
    EXPECT_EQ(MQTT_E_MALFORMED, decode(bytes{0x20, 0x02, 0x01, 0x05})); // session present + refusal
    EXPECT_EQ(MQTT_E_MALFORMED, decode(bytes{0x20, 0x02, 0x02, 0x00})); // reserved ack flags
    EXPECT_EQ(MQTT_E_MALFORMED, decode(bytes{0x20, 0x03, 0x00, 0x00, 0x00}));
    EXPECT_EQ(MQTT_E_MALFORMED, decode(bytes{0x20, 0x01, 0x00}));
    mqtt_packet p;
    ASSERT_EQ(MQTT_OK, decode(bytes{0x20, 0x02, 0x01, 0x00}, &p));
    EXPECT_EQ(1, p.session_present);
}

// ---- PUBLISH ------------------------------------------------------------------------------

TEST(MqttPublish, RoundTripQos0AndQos1)
{
    mqtt_packet p = publish("pipes/v1/all", "{\"id\":\"1\"}", 1, 0x1234);
    p.dup = 1;
    p.retain = 1;
    bytes b = encode(p);
    EXPECT_EQ(0x3B, b[0]);
    mqtt_packet q;
    ASSERT_EQ(MQTT_OK, decode(b, &q));
    EXPECT_EQ(1, q.qos);
    EXPECT_EQ(1, q.dup);
    EXPECT_EQ(1, q.retain);
    EXPECT_EQ(0x1234, q.packet_id);
    EXPECT_EQ("pipes/v1/all", str(q.topic));
    EXPECT_EQ("{\"id\":\"1\"}", str(q.payload));

    bytes b0 = encode(publish("a", "", 0, 0));
    EXPECT_EQ((bytes{0x30, 0x03, 0x00, 0x01, 'a'}), b0);
    ASSERT_EQ(MQTT_OK, decode(b0, &q));
    EXPECT_EQ(0u, q.payload.len);
}

TEST(MqttPublish, TopicRules)
{
    encode(publish("", "x", 0, 0), MQTT_E_TOPIC_EMPTY);
    encode(publish(std::string(MQTT_TOPIC_MAX, 't'), "x", 0, 0));
    encode(publish(std::string(MQTT_TOPIC_MAX + 1, 't'), "x", 0, 0), MQTT_E_TOPIC_TOO_LONG);
    encode(publish("a/+/b", "x", 0, 0), MQTT_E_TOPIC_WILDCARD);
    encode(publish("a/#", "x", 0, 0), MQTT_E_TOPIC_WILDCARD);
    encode(publish(std::string("a\0b", 3), "x", 0, 0), MQTT_E_UTF8);
    encode(publish("a\xC0\x80", "x", 0, 0), MQTT_E_UTF8);     // overlong NUL
    encode(publish("a\xED\xA0\x80", "x", 0, 0), MQTT_E_UTF8); // surrogate
    encode(publish("a\xE2\x82", "x", 0, 0), MQTT_E_UTF8);     // cut sequence
    encode(publish("caf\xC3\xA9/\xE2\x82\xAC", "x", 0, 0));   // real UTF-8 is fine

    EXPECT_EQ(MQTT_E_TOPIC_EMPTY, decode(packet(0x30, field(""))));
    EXPECT_EQ(MQTT_E_TOPIC_WILDCARD, decode(packet(0x30, field("a/+"))));
    EXPECT_EQ(MQTT_E_TOPIC_WILDCARD, decode(packet(0x30, field("#"))));
    EXPECT_EQ(MQTT_E_UTF8, decode(packet(0x30, field("\xFF"))));
    EXPECT_EQ(MQTT_E_UTF8, decode(packet(0x30, field(std::string("\0", 1)))));
    EXPECT_EQ(MQTT_E_TOPIC_TOO_LONG, decode(packet(0x30, field(std::string(MQTT_TOPIC_MAX + 1, 'a')))));
}

TEST(MqttPublish, Refusals)
{
    encode(publish("a", "x", 1, 0), MQTT_E_MALFORMED); // QoS 1 needs a packet id
    mqtt_packet p = publish("a", "x", 0, 0);
    p.dup = 1;
    encode(p, MQTT_E_BAD_FLAGS);
    p = publish("a", "x", 3, 1);
    encode(p, MQTT_E_BAD_FLAGS);
    EXPECT_EQ(MQTT_E_MALFORMED, decode(packet(0x32, cat({field("a"), {0, 0}}))));   // id 0
    EXPECT_EQ(MQTT_E_MALFORMED, decode(packet(0x32, field("a"))));                  // id missing
    EXPECT_EQ(MQTT_E_MALFORMED, decode(packet(0x30, bytes{0x00, 0x05, 'a'})));       // topic > body
    EXPECT_EQ(MQTT_E_MALFORMED, decode(packet(0x30, bytes{0x00})));                  // half a length
}

TEST(MqttPublish, HeadOfAnOversizedPacket)
{
    std::string big(100000, 'x');
    bytes b = encode(publish("pipes/v1/all", big, 1, 77));
    mqtt_header h;
    ASSERT_EQ(MQTT_E_TOO_LARGE, mqtt_decode_header(b.data(), b.size(), 4096, &h));
    mqtt_packet p;
    size_t head = 0;
    // Only the first few body bytes: not enough for topic and id yet.
    EXPECT_EQ(MQTT_NEED_MORE, mqtt_decode_publish_head(&h, b.data() + h.header_len, 5, &p, &head));
    ASSERT_EQ(MQTT_OK, mqtt_decode_publish_head(&h, b.data() + h.header_len, 64, &p, &head));
    EXPECT_EQ(2u + 12u + 2u, head);
    EXPECT_EQ("pipes/v1/all", str(p.topic));
    EXPECT_EQ(77, p.packet_id);
    EXPECT_EQ(1, p.qos);

    // A topic length beyond the limit is known from its two length bytes.
    bytes huge = packet(0x32, cat({{0x7F, 0xFF}, bytes(40000, 'a')}));
    ASSERT_EQ(MQTT_E_TOO_LARGE, mqtt_decode_header(huge.data(), huge.size(), 4096, &h));
    EXPECT_EQ(MQTT_E_TOPIC_TOO_LONG, mqtt_decode_publish_head(&h, huge.data() + h.header_len, 2, &p, &head));
    // Not a PUBLISH.
    mqtt_header ack = {0x40, 2, 2};
    EXPECT_EQ(MQTT_E_ARG, mqtt_decode_publish_head(&ack, b.data(), 2, &p, &head));
}

// ---- acknowledgements, pings ----------------------------------------------------------------

TEST(MqttAcks, ExactBytesAndRefusals)
{
    mqtt_packet p = make(MQTT_PUBACK);
    p.packet_id = 0x0102;
    EXPECT_EQ((bytes{0x40, 0x02, 0x01, 0x02}), encode(p));
    p.type = MQTT_PUBREL;
    EXPECT_EQ((bytes{0x62, 0x02, 0x01, 0x02}), encode(p));
    p.packet_id = 0;
    encode(p, MQTT_E_MALFORMED);
    EXPECT_EQ(MQTT_E_MALFORMED, decode(bytes{0x40, 0x02, 0x00, 0x00}));
    EXPECT_EQ(MQTT_E_MALFORMED, decode(bytes{0x40, 0x03, 0x00, 0x01, 0x00}));
    EXPECT_EQ(MQTT_E_MALFORMED, decode(bytes{0xB0, 0x01, 0x01}));
    EXPECT_EQ((bytes{0xC0, 0x00}), encode(make(MQTT_PINGREQ)));
    EXPECT_EQ((bytes{0xD0, 0x00}), encode(make(MQTT_PINGRESP)));
    EXPECT_EQ((bytes{0xE0, 0x00}), encode(make(MQTT_DISCONNECT)));
    EXPECT_EQ(MQTT_E_MALFORMED, decode(bytes{0xD0, 0x01, 0x00}));
    mqtt_packet q;
    EXPECT_EQ(MQTT_OK, decode(bytes{0xD0, 0x00}, &q));
    EXPECT_EQ(MQTT_PINGRESP, q.type);
}

// ---- SUBSCRIBE / SUBACK / UNSUBSCRIBE -------------------------------------------------------

TEST(MqttSubscribe, FilterRules)
{
    const char *good[] = {"a", "a/b", "+", "#", "a/+/b", "a/#", "+/+/#", "/", "a//b", "/+"};
    const char *bad[] = {"a+", "a/b+", "+a/b", "a/#/b", "a#", "##", "a/b#", "#/a"};
    for (const char *f : good)
        EXPECT_EQ(MQTT_OK, mqtt_filter_check(f, std::strlen(f))) << f;
    for (const char *f : bad)
        EXPECT_EQ(MQTT_E_FILTER, mqtt_filter_check(f, std::strlen(f))) << f;
    EXPECT_EQ(MQTT_E_TOPIC_EMPTY, mqtt_filter_check("", 0));
    EXPECT_EQ(MQTT_E_UTF8, mqtt_filter_check("\xFE", 1));
    EXPECT_EQ(MQTT_E_TOPIC_TOO_LONG, mqtt_filter_check(std::string(MQTT_TOPIC_MAX + 1, 'a').c_str(),
                                                       MQTT_TOPIC_MAX + 1));
}

TEST(MqttSubscribe, RoundTripAndLimits)
{
    std::string f[MQTT_MAX_FILTERS + 1];
    mqtt_packet p = make(MQTT_SUBSCRIBE);
    p.packet_id = 5;
    for (unsigned i = 0; i < MQTT_MAX_FILTERS; i++) {
        f[i] = "pipes/v1/user/u" + std::to_string(i);
        p.filters[i] = view(f[i]);
        p.codes[i] = 1;
    }
    p.count = MQTT_MAX_FILTERS;
    bytes b = encode(p);
    EXPECT_EQ(0x82, b[0]);
    mqtt_packet q;
    ASSERT_EQ(MQTT_OK, decode(b, &q));
    ASSERT_EQ(MQTT_MAX_FILTERS, q.count);
    EXPECT_EQ(f[7], str(q.filters[7]));
    EXPECT_EQ(1, q.codes[7]);

    p.count = MQTT_MAX_FILTERS + 1;
    encode(p, MQTT_E_TOO_MANY);
    bytes body{0, 5};
    for (unsigned i = 0; i <= MQTT_MAX_FILTERS; i++)
        body = cat({body, field("t"), {1}});
    EXPECT_EQ(MQTT_E_TOO_MANY, decode(packet(0x82, body)));

    EXPECT_EQ(MQTT_E_MALFORMED, decode(packet(0x82, bytes{0, 5})));                    // no filter
    EXPECT_EQ(MQTT_E_MALFORMED, decode(packet(0x82, cat({{0, 5}, field("a"), {3}})))); // QoS 3
    EXPECT_EQ(MQTT_E_MALFORMED, decode(packet(0x82, cat({{0, 5}, field("a")}))));      // no QoS
    EXPECT_EQ(MQTT_E_MALFORMED, decode(packet(0x82, cat({{0, 0}, field("a"), {1}})))); // id 0
    EXPECT_EQ(MQTT_E_FILTER, decode(packet(0x82, cat({{0, 5}, field("a#"), {1}}))));
    p.count = 1;
    p.codes[0] = 3;
    encode(p, MQTT_E_MALFORMED);
    p.count = 0;
    encode(p, MQTT_E_MALFORMED);
}

TEST(MqttSubscribe, SubackCodes)
{
    mqtt_packet q;
    ASSERT_EQ(MQTT_OK, decode(bytes{0x90, 0x06, 0x00, 0x05, 0x00, 0x01, 0x02, 0x80}, &q));
    ASSERT_EQ(4, q.count);
    EXPECT_EQ(MQTT_SUBACK_FAILURE, q.codes[3]);
    EXPECT_EQ(MQTT_E_MALFORMED, decode(bytes{0x90, 0x03, 0x00, 0x05, 0x03}));
    EXPECT_EQ(MQTT_E_MALFORMED, decode(bytes{0x90, 0x03, 0x00, 0x05, 0x81}));
    EXPECT_EQ(MQTT_E_MALFORMED, decode(bytes{0x90, 0x02, 0x00, 0x05}));
    mqtt_packet p = make(MQTT_SUBACK);
    p.packet_id = 1;
    p.count = 1;
    p.codes[0] = 0x81;
    encode(p, MQTT_E_MALFORMED);
}

TEST(MqttSubscribe, Unsubscribe)
{
    std::string f = "pipes/v1/user/alice";
    mqtt_packet p = make(MQTT_UNSUBSCRIBE);
    p.packet_id = 9;
    p.count = 1;
    p.filters[0] = view(f);
    bytes b = encode(p);
    EXPECT_EQ(packet(0xA2, cat({{0, 9}, field(f)})), b);
    mqtt_packet q;
    ASSERT_EQ(MQTT_OK, decode(b, &q));
    EXPECT_EQ(f, str(q.filters[0]));
    EXPECT_EQ(MQTT_E_MALFORMED, decode(packet(0xA2, bytes{0, 9})));
}

// ---- encoder output buffer, statuses --------------------------------------------------------

TEST(MqttEncode, BufferTooSmallReportsTheSize)
{
    mqtt_packet p = publish("a/b", "hello", 1, 1);
    uint8_t small[8];
    size_t len = 0;
    EXPECT_EQ(MQTT_E_BUFFER, mqtt_encode(&p, small, sizeof small, &len));
    EXPECT_EQ(2u + 2u + 3u + 2u + 5u, len);
    EXPECT_EQ(MQTT_E_ARG, mqtt_encode(nullptr, small, sizeof small, &len));
    EXPECT_EQ(MQTT_E_ARG, mqtt_encode(&p, nullptr, 4, &len));
}

TEST(MqttStatus, NamesAreUniqueAndTextsPresent)
{
    std::set<std::string> names;
    for (int i = 0; i < MQTT_STATUS_COUNT; i++) {
        mqtt_status st = static_cast<mqtt_status>(i);
        EXPECT_TRUE(names.insert(mqtt_status_name(st)).second) << mqtt_status_name(st);
        EXPECT_GT(std::strlen(mqtt_status_text(st)), 5u);
    }
    EXPECT_STREQ("unknown", mqtt_status_name(MQTT_STATUS_COUNT));
}

} // namespace
