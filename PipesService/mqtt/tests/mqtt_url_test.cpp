// mqtt_url_test.cpp - unit tests of the broker URL rules (PipesService/mqtt/mqtt_url.c) and of the
// session's configuration checks (mqtt_session_create), which need no broker.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "mqtt_net.h"
#include "mqtt_session.h"

namespace {

TEST(MqttUrl, TlsAndDefaults)
{
    mqtt_endpoint ep;
    ASSERT_EQ(MQTT_OK, mqtt_url_parse(L"mqtts://broker.example.com", 0, &ep));
    EXPECT_STREQ(L"broker.example.com", ep.host);
    EXPECT_EQ(8883, ep.port);
    EXPECT_EQ(1, ep.tls);
    ASSERT_EQ(MQTT_OK, mqtt_url_parse(L"MQTTS://h:1234/", 0, &ep));
    EXPECT_STREQ(L"h", ep.host);
    EXPECT_EQ(1234, ep.port);
    ASSERT_EQ(MQTT_OK, mqtt_url_parse(L"mqtts://[::1]:8884", 0, &ep));
    EXPECT_STREQ(L"::1", ep.host);
    EXPECT_EQ(8884, ep.port);
}

TEST(MqttUrl, PlainOnlyWhenAllowed)
{
    mqtt_endpoint ep;
    EXPECT_EQ(MQTT_E_PLAIN_NOT_ALLOWED, mqtt_url_parse(L"mqtt://h", 0, &ep));
    ASSERT_EQ(MQTT_OK, mqtt_url_parse(L"mqtt://h", 1, &ep));
    EXPECT_EQ(1883, ep.port);
    EXPECT_EQ(0, ep.tls);
}

TEST(MqttUrl, Refusals)
{
    const wchar_t *bad[] = {L"", L"h:8883", L"http://h", L"mqtts://", L"mqtts://:8883",
                            L"mqtts://h:", L"mqtts://h:0", L"mqtts://h:65536", L"mqtts://h:12x",
                            L"mqtts://u@h", L"mqtts://h/topic", L"mqtts://h?x", L"mqtts://[::1",
                            L"mqtts://a b", L"mqtts://h:1234567"};
    for (const wchar_t *u : bad) {
        mqtt_endpoint ep;
        EXPECT_EQ(MQTT_E_URL, mqtt_url_parse(u, 1, &ep)) << (const void *)u;
    }
    mqtt_endpoint ep;
    EXPECT_EQ(MQTT_E_ARG, mqtt_url_parse(nullptr, 1, &ep));
}

mqtt_delivery store(void *, const mqtt_message *)
{
    return MQTT_DELIVERY_STORED;
}

mqtt_session_config config()
{
    mqtt_session_config c;
    std::memset(&c, 0, sizeof c);
    c.url = L"mqtts://localhost";
    c.client_id = "pipes-test";
    c.deliver = store;
    return c;
}

TEST(MqttSessionConfig, Refusals)
{
    mqtt_session *s = nullptr;
    mqtt_session_config c = config();
    c.url = L"mqtt://localhost";
    EXPECT_EQ(MQTT_E_PLAIN_NOT_ALLOWED, mqtt_session_create(&c, &s));
    c = config();
    c.client_id = "";
    EXPECT_EQ(MQTT_E_REFUSED_IDENTIFIER, mqtt_session_create(&c, &s));
    c = config();
    c.password = "pw";
    c.password_len = 2;
    EXPECT_EQ(MQTT_E_ARG, mqtt_session_create(&c, &s)); // a password needs a user name
    c = config();
    c.max_packet = 100;
    EXPECT_EQ(MQTT_E_ARG, mqtt_session_create(&c, &s));
    c = config();
    c.ca_file = L"C:\\no\\such\\ca.pem";
    EXPECT_EQ(MQTT_E_CA_FILE, mqtt_session_create(&c, &s));
    EXPECT_EQ(nullptr, s);
}

TEST(MqttSessionConfig, QueueAndTopicLimitsWithoutABroker)
{
    mqtt_session *s = nullptr;
    mqtt_session_config c = config();
    c.max_queue = 2;
    c.max_packet = 4096;
    ASSERT_EQ(MQTT_OK, mqtt_session_create(&c, &s));
    EXPECT_EQ(MQTT_OK, mqtt_session_publish(s, "pipes/v1/status/PC1", "a", 1, 0, nullptr));
    uint64_t token = 0;
    EXPECT_EQ(MQTT_OK, mqtt_session_publish(s, "pipes/v1/status/PC1", "b", 1, 0, &token));
    EXPECT_EQ(2u, token);
    EXPECT_EQ(MQTT_E_QUEUE_FULL, mqtt_session_publish(s, "pipes/v1/status/PC1", "c", 1, 0, nullptr));
    EXPECT_EQ(MQTT_E_TOPIC_WILDCARD, mqtt_session_publish(s, "pipes/#", "c", 1, 0, nullptr));
    std::string big(4096, 'x');
    EXPECT_EQ(MQTT_E_TOO_LARGE, mqtt_session_publish(s, "t", big.data(), big.size(), 0, nullptr));
    EXPECT_EQ(MQTT_E_FILTER, mqtt_session_subscribe(s, "pipes/v1/user/a+b"));
    EXPECT_EQ(MQTT_OK, mqtt_session_subscribe(s, "pipes/v1/all"));
    EXPECT_EQ(MQTT_OK, mqtt_session_subscribe(s, "pipes/v1/all")); // a set: once
    mqtt_session_stats st;
    mqtt_session_get_stats(s, &st);
    EXPECT_EQ(1u, st.subscriptions);
    EXPECT_EQ(2u, st.queued);
    EXPECT_EQ(MQTT_STATE_STOPPED, st.state);
    EXPECT_EQ(MQTT_OK, mqtt_session_unsubscribe(s, "pipes/v1/all"));
    mqtt_session_get_stats(s, &st);
    EXPECT_EQ(0u, st.subscriptions);
    mqtt_session_stop(s); // never started: nothing to join
    mqtt_session_destroy(s);
}

} // namespace
