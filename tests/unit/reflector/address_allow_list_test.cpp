#include "reflector/address_allow_list.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstring>
#include <string>
#include <vector>

namespace rfbcast {
namespace {

sockaddr_storage v4(const char* addr, uint16_t port) {
    sockaddr_storage ss{};
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    EXPECT_EQ(inet_pton(AF_INET, addr, &in->sin_addr), 1) << addr;
    return ss;
}

sockaddr_storage v6(const char* addr, uint16_t port) {
    sockaddr_storage ss{};
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    EXPECT_EQ(inet_pton(AF_INET6, addr, &in6->sin6_addr), 1) << addr;
    return ss;
}

const sockaddr* sa(const sockaddr_storage& ss) {
    return reinterpret_cast<const sockaddr*>(&ss);
}

AddressAllowList list_of(const std::vector<std::string>& entries) {
    AddressAllowList list;
    std::string error;
    EXPECT_TRUE(list.parse(entries, error)) << error;
    return list;
}

std::string refusal(std::string_view entry) {
    AddressAllowList list;
    std::string error;
    EXPECT_FALSE(list.add(entry, error)) << "accepted: " << entry;
    EXPECT_TRUE(list.empty());
    return error;
}

TEST(AddressAllowList, EmptyListHoldsNothing) {
    const AddressAllowList list;
    EXPECT_TRUE(list.empty());
    EXPECT_EQ(list.size(), 0u);
    EXPECT_FALSE(list.contains(sa(v4("127.0.0.1", 5900))));
    EXPECT_FALSE(list.contains_address(sa(v4("127.0.0.1", 5900))));
    EXPECT_FALSE(list.allows_host("127.0.0.1", 5900));
    EXPECT_FALSE(list.allows_host("localhost", 5900));
    EXPECT_EQ(list.describe(), "");
}

TEST(AddressAllowList, Ipv4Networks) {
    const auto list = list_of({"10.0.0.0/8", "192.168.1.7", "172.16.0.0/12"});
    EXPECT_EQ(list.size(), 3u);
    EXPECT_TRUE(list.contains(sa(v4("10.0.0.0", 1))));
    EXPECT_TRUE(list.contains(sa(v4("10.255.255.255", 65535))));
    EXPECT_FALSE(list.contains(sa(v4("11.0.0.0", 5900))));
    EXPECT_FALSE(list.contains(sa(v4("9.255.255.255", 5900))));
    EXPECT_TRUE(list.contains(sa(v4("192.168.1.7", 5900))));
    EXPECT_FALSE(list.contains(sa(v4("192.168.1.6", 5900))));
    EXPECT_FALSE(list.contains(sa(v4("192.168.1.8", 5900))));
    EXPECT_TRUE(list.contains(sa(v4("172.31.255.1", 5900))));  // /12: 172.16-172.31
    EXPECT_FALSE(list.contains(sa(v4("172.32.0.1", 5900))));
    EXPECT_FALSE(list.contains(sa(v4("172.15.255.255", 5900))));
    EXPECT_TRUE(list.allows_host("10.1.2.3", 5900));
    EXPECT_FALSE(list.allows_host("11.1.2.3", 5900));
    EXPECT_EQ(list.describe(), "10.0.0.0/8, 192.168.1.7/32, 172.16.0.0/12");
}

TEST(AddressAllowList, OddPrefixLengths) {
    const auto list = list_of({"192.168.1.128/25", "0.0.0.0/0"});
    EXPECT_TRUE(list.contains(sa(v4("1.2.3.4", 1))));  // /0 holds everything IPv4
    const auto narrow = list_of({"192.168.1.128/25", "10.0.0.4/30"});
    EXPECT_TRUE(narrow.contains(sa(v4("192.168.1.128", 1))));
    EXPECT_TRUE(narrow.contains(sa(v4("192.168.1.255", 1))));
    EXPECT_FALSE(narrow.contains(sa(v4("192.168.1.127", 1))));
    EXPECT_TRUE(narrow.contains(sa(v4("10.0.0.7", 1))));
    EXPECT_FALSE(narrow.contains(sa(v4("10.0.0.8", 1))));
    EXPECT_FALSE(narrow.contains(sa(v4("10.0.0.3", 1))));
}

TEST(AddressAllowList, Ipv6Networks) {
    const auto list = list_of({"::1", "fd00::/8", "[2001:db8::]/32", "[2001:db9::/48]"});
    EXPECT_TRUE(list.contains(sa(v6("::1", 5900))));
    EXPECT_FALSE(list.contains(sa(v6("::2", 5900))));
    EXPECT_TRUE(list.contains(sa(v6("fd12:3456::1", 5900))));
    EXPECT_TRUE(list.contains(sa(v6("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 5900))));
    EXPECT_FALSE(list.contains(sa(v6("fe00::1", 5900))));
    EXPECT_FALSE(list.contains(sa(v6("fc00::1", 5900))));
    EXPECT_TRUE(list.contains(sa(v6("2001:db8:ffff::1", 5900))));
    EXPECT_FALSE(list.contains(sa(v6("2001:db7::1", 5900))));
    EXPECT_TRUE(list.contains(sa(v6("2001:db9:0::5", 5900))));
    EXPECT_FALSE(list.contains(sa(v6("2001:db9:1::5", 5900))));
    EXPECT_TRUE(list.allows_host("::1", 1));
    EXPECT_TRUE(list.allows_host("[::1]", 1));
    EXPECT_TRUE(list.allows_host("FD00::ABCD", 1));
    EXPECT_FALSE(list.allows_host("[fe80::1]", 1));
    // An IPv6 list says nothing about IPv4, not even 127.0.0.1 for ::1.
    EXPECT_FALSE(list.contains(sa(v4("127.0.0.1", 5900))));
    EXPECT_EQ(list.describe(), "[::1]/128, [fd00::]/8, [2001:db8::]/32, [2001:db9::]/48");
}

TEST(AddressAllowList, Ipv4MappedAddressesAreIpv4) {
    const auto list = list_of({"10.0.0.0/8"});
    EXPECT_TRUE(list.contains(sa(v6("::ffff:10.1.2.3", 5900))));
    EXPECT_TRUE(list.contains_address(sa(v6("::ffff:10.1.2.3", 1))));
    EXPECT_FALSE(list.contains(sa(v6("::ffff:11.1.2.3", 5900))));
    EXPECT_TRUE(list.allows_host("::ffff:10.1.2.3", 5900));
    EXPECT_TRUE(list.allows_host("[::ffff:10.1.2.3]", 5900));
    // The IPv4-compatible (deprecated) form ::a.b.c.d is a different address.
    EXPECT_FALSE(list.contains(sa(v6("::10.1.2.3", 5900))));

    // A mapped entry is the IPv4 network too, so both spellings of the peer match it.
    const auto mapped = list_of({"::ffff:192.168.0.0/112", "[::ffff:127.0.0.1]"});
    EXPECT_TRUE(mapped.contains(sa(v4("192.168.3.4", 1))));
    EXPECT_TRUE(mapped.contains(sa(v6("::ffff:192.168.3.4", 1))));
    EXPECT_FALSE(mapped.contains(sa(v4("192.169.0.1", 1))));
    EXPECT_TRUE(mapped.contains(sa(v4("127.0.0.1", 1))));
    EXPECT_EQ(mapped.describe(), "192.168.0.0/16, 127.0.0.1/32");
}

TEST(AddressAllowList, Ports) {
    const auto list =
        list_of({"10.0.0.0/8:5900-5999", "[::1]:5901", "127.0.0.1/32:5900", "[fd00::]/8:22"});
    EXPECT_TRUE(list.has_ports());
    EXPECT_TRUE(list.contains(sa(v4("10.1.1.1", 5900))));
    EXPECT_TRUE(list.contains(sa(v4("10.1.1.1", 5999))));
    EXPECT_FALSE(list.contains(sa(v4("10.1.1.1", 5899))));
    EXPECT_FALSE(list.contains(sa(v4("10.1.1.1", 6000))));
    EXPECT_TRUE(list.contains(sa(v6("::1", 5901))));
    EXPECT_FALSE(list.contains(sa(v6("::1", 5900))));
    EXPECT_TRUE(list.contains(sa(v4("127.0.0.1", 5900))));
    EXPECT_FALSE(list.contains(sa(v4("127.0.0.1", 5901))));
    EXPECT_TRUE(list.contains(sa(v6("fd00::9", 22))));
    EXPECT_FALSE(list.contains(sa(v6("fd00::9", 23))));
    EXPECT_TRUE(list.allows_host("10.9.9.9", 5950));
    EXPECT_FALSE(list.allows_host("10.9.9.9", 5000));
    // A peer's source port means nothing: contains_address ignores the entries' ports.
    EXPECT_TRUE(list.contains_address(sa(v4("10.1.1.1", 40000))));
    EXPECT_TRUE(list.contains_address(sa(v6("::1", 40000))));
    EXPECT_FALSE(list.contains_address(sa(v4("11.1.1.1", 5900))));
    EXPECT_EQ(list.describe(),
              "10.0.0.0/8:5900-5999, [::1]/128:5901, 127.0.0.1/32:5900, [fd00::]/8:22");
    EXPECT_FALSE(list_of({"10.0.0.0/8", "pi.local"}).has_ports());
    EXPECT_TRUE(list_of({"10.0.0.1:1-65535"}).contains(sa(v4("10.0.0.1", 65535))));
}

TEST(AddressAllowList, HostNamesOnlyAsWritten) {
    const auto list = list_of({"pi.local:5900", "Lab-PC", "10.0.0.0/8"});
    EXPECT_TRUE(list.allows_host("pi.local", 5900));
    EXPECT_TRUE(list.allows_host("PI.Local", 5900));
    EXPECT_FALSE(list.allows_host("pi.local", 5901));
    EXPECT_FALSE(list.allows_host("pi.local.", 5900));
    EXPECT_FALSE(list.allows_host("pi", 5900));
    EXPECT_FALSE(list.allows_host("evil.pi.local", 5900));
    EXPECT_TRUE(list.allows_host("lab-pc", 1));
    EXPECT_TRUE(list.allows_host("LAB-PC", 65535));
    // Names never match socket addresses, and numeric texts never match names.
    EXPECT_FALSE(list.contains(sa(v4("192.168.1.1", 5900))));
    // Looser numeric spellings are not addresses and match no entry.
    EXPECT_FALSE(list.allows_host("010.0.0.1", 5900));
    EXPECT_FALSE(list.allows_host("167772161", 5900));
    EXPECT_FALSE(list.allows_host("0x0a000001", 5900));
    EXPECT_FALSE(list.allows_host("", 5900));
    EXPECT_EQ(list.describe(), "pi.local:5900, lab-pc, 10.0.0.0/8");
}

TEST(AddressAllowList, OtherFamiliesNeverMatch) {
    const auto list = list_of({"0.0.0.0/0", "::/0"});
    sockaddr_storage ss{};
    auto* un = reinterpret_cast<sockaddr_un*>(&ss);
    un->sun_family = AF_UNIX;
    std::strcpy(un->sun_path, "/tmp/x");
    EXPECT_FALSE(list.contains(sa(ss)));
    EXPECT_FALSE(list.contains_address(sa(ss)));
    EXPECT_FALSE(list.contains(static_cast<const sockaddr*>(nullptr)));
    EXPECT_TRUE(list.contains(sa(v4("8.8.8.8", 53))));
    EXPECT_TRUE(list.contains(sa(v6("2001:4860::8888", 53))));
}

TEST(AddressAllowList, HostBitsSetIsAnErrorNamingBothReadings) {
    const std::string error = refusal("192.168.1.7/24");
    EXPECT_EQ(error,
              "'192.168.1.7/24': host bits set after /24: did you mean 192.168.1.0/24 or "
              "192.168.1.7/32?");
    const std::string error6 = refusal("fd00::1/8");
    EXPECT_EQ(error6, "'fd00::1/8': host bits set after /8: did you mean fd00::/8 or fd00::1/128?");
    EXPECT_NE(refusal("10.0.0.1/31").find("10.0.0.0/31"), std::string::npos);
}

TEST(AddressAllowList, Rejections) {
    struct Case {
        const char* entry;
        const char* problem;
    };
    const Case cases[] = {
        {"", "empty entry"},
        {" 10.0.0.0/8", "space"},
        {"10.0.0.0/8 ", "space"},
        {"10.0.0.0/8\n", "control"},
        {"10.0.0.0/33", "bad prefix length '/33' (0-32 for IPv4)"},
        {"10.0.0.0/", "bad prefix length '/'"},
        {"10.0.0.0/-1", "bad prefix length"},
        {"10.0.0.0/8/8", "bad prefix length"},
        {"10.0.0.0/x", "bad prefix length"},
        {"::/129", "bad prefix length '/129' (0-128 for IPv6)"},
        {"[::]/8/8", "bad prefix length"},
        {"[fd00::/8]/8", "two prefix lengths"},
        {"10.0.0", "not a dotted-quad IPv4 address"},
        {"010.0.0.1", "not a dotted-quad"},
        {"167772161", "not a dotted-quad"},
        {"1.2.3.4.5", "not a dotted-quad"},
        {"256.1.1.1", "not a dotted-quad"},
        {"[10.0.0.1]", "not an IPv6 address"},
        {"[pi.local]:5900", "not an IPv6 address"},
        {"fd00:::1", "not an IPv6 address"},
        {"fe80::1%eth0", "zone indices"},
        {"[::1", "'[' without ']'"},
        {"[::1]5900", "unexpected text after ']'"},
        {"[::1]:", "bad port ''"},
        {"10.0.0.1:0", "bad port '0'"},
        {"10.0.0.1:65536", "bad port"},
        {"10.0.0.1:5900-", "bad port"},
        {"10.0.0.1:-5900", "bad port"},
        {"10.0.0.1:5900-5901-5902", "bad port"},
        {"10.0.0.1:http", "bad port"},
        {"10.0.0.1:5999-5900", "runs backwards"},
        {"pi.local/24", "a host name takes no prefix length"},
        {"pi_local!", "host name may only hold"},
        {":5900", "no address"},
        {"/8", "no address"},
        {"[]:5900", "no address"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.entry);
        const std::string error = refusal(c.entry);
        EXPECT_NE(error.find(c.problem), std::string::npos) << error;
    }
    // The error names the entry, with unprintable bytes made visible.
    EXPECT_EQ(refusal("10.0.0.0/8\n").substr(0, 13), "'10.0.0.0/8?'");
    EXPECT_NE(refusal(std::string(254, 'a')).find("longer than 253"), std::string::npos);
    EXPECT_TRUE(list_of({std::string(253, 'a')}).allows_host(std::string(253, 'A'), 1));
}

TEST(AddressAllowList, ParseReplacesTheListOnlyWhenEveryEntryIsGood) {
    AddressAllowList list;
    std::string error;
    ASSERT_TRUE(list.parse({"10.0.0.0/8", "::1"}, error)) << error;
    EXPECT_EQ(list.size(), 2u);
    // A reload with a bad entry keeps the old list whole.
    EXPECT_FALSE(list.parse({"192.168.0.0/16", "bad/99", "::2"}, error));
    EXPECT_NE(error.find("'bad/99'"), std::string::npos) << error;
    EXPECT_EQ(list.describe(), "10.0.0.0/8, [::1]/128");
    // A good reload replaces it, not appends.
    ASSERT_TRUE(list.parse({"192.168.0.0/16"}, error)) << error;
    EXPECT_EQ(list.describe(), "192.168.0.0/16");
    EXPECT_FALSE(list.contains(sa(v4("10.0.0.1", 1))));
    ASSERT_TRUE(list.parse({}, error));
    EXPECT_TRUE(list.empty());
    // add appends, and leaves the list alone on error.
    ASSERT_TRUE(list.add("10.0.0.0/8", error));
    EXPECT_FALSE(list.add("11.0.0.0/99", error));
    EXPECT_EQ(list.size(), 1u);
}

TEST(AddressAllowList, DescribeReparsesToTheSameList) {
    const auto list = list_of({"10.0.0.0/8:5900-5999", "::1", "[fd00::]/8:22", "PI.local:5900",
                               "::ffff:10.0.0.0/104", "0.0.0.0/0"});
    AddressAllowList again;
    std::string error;
    std::vector<std::string> entries;
    std::string text = list.describe();
    for (size_t start = 0; start <= text.size();) {
        const size_t comma = text.find(", ", start);
        entries.push_back(text.substr(start, comma - start));
        if (comma == std::string::npos) break;
        start = comma + 2;
    }
    ASSERT_TRUE(again.parse(entries, error)) << error;
    EXPECT_EQ(again.describe(), text);
}

}  // namespace
}  // namespace rfbcast
