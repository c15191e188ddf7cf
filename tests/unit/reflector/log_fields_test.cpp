#include "reflector/log_fields.h"

#include "reflector/log.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace rfbcast {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

Pairs pairs_of(const std::vector<LogField>& fields) {
    Pairs out;
    for (const LogField& f : fields)
        out.emplace_back(f.key, f.value);
    return out;
}

Pairs parse(std::string_view details) {
    return pairs_of(parse_log_fields(details));
}

// ---- Parser -------------------------------------------------------------------------------

TEST(LogFields, BareValues) {
    EXPECT_EQ(parse("session=lab1 peer=127.0.0.1:5000 viewers=3"),
              (Pairs{{"session", "lab1"}, {"peer", "127.0.0.1:5000"}, {"viewers", "3"}}));
    EXPECT_EQ(parse("a.b-c_D9=x"), (Pairs{{"a.b-c_D9", "x"}}));
    // A quote inside a bare value is just a byte of it.
    EXPECT_EQ(parse("a=b\"c"), (Pairs{{"a", "b\"c"}}));
    // Runs of spaces separate; leading and trailing ones vanish.
    EXPECT_EQ(parse("  a=1   b=2  "), (Pairs{{"a", "1"}, {"b", "2"}}));
    EXPECT_TRUE(parse("").empty());
    EXPECT_TRUE(parse("    ").empty());
}

TEST(LogFields, QuotedValues) {
    EXPECT_EQ(parse("reason=\"peer closed the connection\" code=4"),
              (Pairs{{"reason", "peer closed the connection"}, {"code", "4"}}));
    EXPECT_EQ(parse("a=\"x=1 y=2\""), (Pairs{{"a", "x=1 y=2"}}));
}

TEST(LogFields, EscapesInQuotedValues) {
    EXPECT_EQ(parse(R"(r="say \"hi\" \\ done" n=1)"),
              (Pairs{{"r", R"(say "hi" \ done)"}, {"n", "1"}}));
    // Other backslashes are kept as written.
    EXPECT_EQ(parse(R"(p="C:\temp\n")"), (Pairs{{"p", R"(C:\temp\n)"}}));
    // A backslash before the closing quote escapes it only when it is not itself escaped.
    EXPECT_EQ(parse(R"(p="end\\" q=2)"), (Pairs{{"p", R"(end\)"}, {"q", "2"}}));
}

TEST(LogFields, EmptyValues) {
    EXPECT_EQ(parse("a= b=\"\" c=3"), (Pairs{{"a", ""}, {"b", ""}, {"c", "3"}}));
    EXPECT_EQ(parse("a="), (Pairs{{"a", ""}}));
}

TEST(LogFields, FreeTextGoesToMsgWhole) {
    EXPECT_EQ(parse("listening on 127.0.0.1:5900"),
              (Pairs{{"msg", "listening on 127.0.0.1:5900"}}));
    // From the first token that is not a pair on, everything stays together, pairs included.
    EXPECT_EQ(parse("a=1 then some  text b=2  "),
              (Pairs{{"a", "1"}, {"msg", "then some  text b=2"}}));
    EXPECT_EQ(parse("=1 a=2"), (Pairs{{"msg", "=1 a=2"}}));
    EXPECT_EQ(parse("a:b=1"), (Pairs{{"msg", "a:b=1"}}));
    // Text glued to a closing quote: where the value ends is a guess, so it is not split.
    EXPECT_EQ(parse("s=ok a=\"x\"y b=1"), (Pairs{{"s", "ok"}, {"msg", "a=\"x\"y b=1"}}));
    const std::vector<LogField> f = parse_log_fields("a=1 free");
    ASSERT_EQ(f.size(), 2u);
    EXPECT_FALSE(f[0].free_text);
    EXPECT_TRUE(f[1].free_text);
}

TEST(LogFields, QuoteLeftOpenByTruncation) {
    EXPECT_EQ(parse("a=1 reason=\"cut in the mid"),
              (Pairs{{"a", "1"}, {"reason", "cut in the mid"}}));
    EXPECT_EQ(parse("reason=\""), (Pairs{{"reason", ""}}));
    EXPECT_EQ(parse(R"(reason="cut at \)"), (Pairs{{"reason", R"(cut at \)"}}));
    EXPECT_EQ(parse(R"(reason="cut after \")"), (Pairs{{"reason", R"(cut after ")"}}));
}

TEST(LogFields, RawSpansPointAtTheValueAsWritten) {
    const std::string details = R"(a=1 b="x \"y\"" c=)";
    const std::vector<LogField> f = parse_log_fields(details);
    ASSERT_EQ(f.size(), 3u);
    EXPECT_EQ(details.substr(f[0].raw_begin, f[0].raw_end - f[0].raw_begin), "1");
    EXPECT_EQ(details.substr(f[1].raw_begin, f[1].raw_end - f[1].raw_begin), R"("x \"y\"")");
    EXPECT_EQ(f[2].raw_begin, details.size());
    EXPECT_EQ(f[2].raw_end, details.size());
}

std::string numbered_pairs(int from, int to) {
    std::string s;
    for (int i = from; i < to; ++i)
        s += "k" + std::to_string(i) + "=" + std::to_string(i) + " ";
    return s;
}

TEST(LogFields, AtMost64FieldsAndTheRestKeptInMsg) {
    // 63 pairs fit exactly.
    Pairs f = parse(numbered_pairs(0, 63));
    ASSERT_EQ(f.size(), 63u);
    EXPECT_EQ(f.back(), (std::pair<std::string, std::string>{"k62", "62"}));

    // The 64th field is reserved for what is left.
    f = parse(numbered_pairs(0, 64));
    ASSERT_EQ(f.size(), 64u);
    EXPECT_EQ(f[62], (std::pair<std::string, std::string>{"k62", "62"}));
    EXPECT_EQ(f[63], (std::pair<std::string, std::string>{"msg", "k63=63"}));

    f = parse(numbered_pairs(0, 100));
    ASSERT_EQ(f.size(), 64u);
    EXPECT_EQ(f[63].first, "msg");
    EXPECT_EQ(f[63].second, numbered_pairs(63, 100).substr(0, numbered_pairs(63, 100).size() - 1));
}

TEST(LogFields, EveryPrefixOfALineParsesWithinBounds) {
    const std::string line =
        R"(session=lab1 peer=[::1]:5000 reason="bad \"x\" \\ y" empty= then free text z=1)";
    for (size_t n = 0; n <= line.size(); ++n) {
        const std::string prefix = line.substr(0, n);
        const std::vector<LogField> f = parse_log_fields(prefix);
        ASSERT_LE(f.size(), kLogMaxFields);
        for (const LogField& x : f) {
            ASSERT_LE(x.raw_begin, x.raw_end) << n;
            ASSERT_LE(x.raw_end, prefix.size()) << n;
            ASSERT_FALSE(x.key.empty()) << n;
        }
    }
    // The same line, cut just inside the quoted value, keeps the part of the value it has.
    const size_t cut = line.find("\\\\");
    EXPECT_EQ(parse(line.substr(0, cut)),
              (Pairs{{"session", "lab1"}, {"peer", "[::1]:5000"}, {"reason", "bad \"x\" "}}));
}

TEST(LogFields, EscapeQuotedRoundTripsAndCannotForgeFields) {
    const std::string hostile = R"(evil" admin=1 x="\)";
    const std::string details = "reason=\"" + log_escape_quoted(hostile) + "\" n=2";
    EXPECT_EQ(parse(details), (Pairs{{"reason", hostile}, {"n", "2"}}));
    EXPECT_EQ(log_escape_quoted(R"(a"b\c)"), R"(a\"b\\c)");
}

// ---- Secret keys and redaction ------------------------------------------------------------

TEST(LogFields, SecretKeys) {
    for (const char* k :
         {"password", "Password", "upstream-password", "PASSWORD_FILE", "secret", "client_secret",
          "token", "webToken", "key", "api_key", "KEY.id", "keysym_key", "keycodekey", "monkey"})
        EXPECT_TRUE(is_secret_log_key(k)) << k;
    for (const char* k : {"keysym", "KeySym", "keycode", "keysyms", "keycode.down", "session",
                          "peer", "reason", "ke", "kee", "pass", "sec"})
        EXPECT_FALSE(is_secret_log_key(k)) << k;
}

TEST(LogFields, RedactionKeepsTheRestOfTheLineAsWritten) {
    const std::string details =
        R"(user=bob password=hunter2 api_key="a b \" c" keysym=0xff33 Token= note="fine")";
    std::vector<LogField> f = parse_log_fields(details);
    const std::string text = redact_log_fields(details, f);
    EXPECT_EQ(
        text,
        R"(user=bob password=[redacted] api_key=[redacted] keysym=0xff33 Token=[redacted] note="fine")");
    EXPECT_EQ(pairs_of(f), (Pairs{{"user", "bob"},
                                  {"password", "[redacted]"},
                                  {"api_key", "[redacted]"},
                                  {"keysym", "0xff33"},
                                  {"Token", "[redacted]"},
                                  {"note", "fine"}}));
    EXPECT_TRUE(f[1].redacted);
    EXPECT_FALSE(f[0].redacted);
}

TEST(LogFields, RedactionOfAQuoteLeftOpen) {
    const std::string details = R"(a=1 secret="abc def)";
    std::vector<LogField> f = parse_log_fields(details);
    EXPECT_EQ(redact_log_fields(details, f), "a=1 secret=[redacted]");
}

TEST(LogFields, RedactionInFreeTextCutsFromTheSecretOn) {
    const std::string details = R"(a=1 login failed for bob, password="x"y z=2 token=3)";
    std::vector<LogField> f = parse_log_fields(details);
    EXPECT_EQ(redact_log_fields(details, f), "a=1 login failed for bob, password=[redacted]");
    EXPECT_EQ(pairs_of(f),
              (Pairs{{"a", "1"}, {"msg", "login failed for bob, password=[redacted]"}}));
    // "key" glued to other key characters is one key; "keysym" in free text is no secret.
    std::string plain = "pressed keysym=0xff0d on monkeys";
    f = parse_log_fields(plain);
    EXPECT_EQ(redact_log_fields(plain, f), plain);
    EXPECT_FALSE(f[0].redacted);
}

TEST(LogFields, RedactionWithoutSecretsIsTheIdentity) {
    const std::string details = R"(  a=1  b="x \"y\""  free  text  )";
    std::vector<LogField> f = parse_log_fields(details);
    EXPECT_EQ(redact_log_fields(details, f), details);
}

// ---- JSON output through log.cpp ----------------------------------------------------------

// A strict RFC 8259 reader for what the logger promises: one flat object of string members, no
// duplicate names, raw bytes valid UTF-8 (no surrogates, overlongs or code points past U+10FFFF),
// escapes well-formed and surrogate pairs paired, a single newline at the end. Written from the
// RFC, not from log.cpp, so the two cannot share a mistake.
class FlatJson {
  public:
    static std::optional<Pairs> parse_line(std::string_view line) {
        if (line.empty() || line.back() != '\n') return std::nullopt;
        FlatJson j(line.substr(0, line.size() - 1));
        Pairs out;
        j.ws();
        if (!j.eat('{')) return std::nullopt;
        j.ws();
        if (j.eat('}')) return j.done() ? std::optional<Pairs>(out) : std::nullopt;
        for (;;) {
            std::string k, v;
            j.ws();
            if (!j.string(k)) return std::nullopt;
            j.ws();
            if (!j.eat(':')) return std::nullopt;
            j.ws();
            if (!j.string(v)) return std::nullopt;
            for (const auto& p : out)
                if (p.first == k) return std::nullopt;
            out.emplace_back(std::move(k), std::move(v));
            j.ws();
            if (j.eat('}')) break;
            if (!j.eat(',')) return std::nullopt;
        }
        return j.done() ? std::optional<Pairs>(out) : std::nullopt;
    }

  private:
    explicit FlatJson(std::string_view s) : s_(s) {}
    bool done() {
        ws();
        return i_ == s_.size();
    }
    void ws() {
        while (i_ < s_.size() &&
               (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
            ++i_;
    }
    bool eat(char c) {
        if (i_ < s_.size() && s_[i_] == c) {
            ++i_;
            return true;
        }
        return false;
    }
    unsigned byte(size_t k) const { return static_cast<unsigned char>(s_[k]); }
    static void put_utf8(uint32_t cp, std::string& out) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xc0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xe0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else {
            out += static_cast<char>(0xf0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        }
    }
    bool hex4(uint32_t& v) {
        if (s_.size() - i_ < 4) return false;
        v = 0;
        for (int n = 0; n < 4; ++n) {
            const char c = s_[i_++];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= static_cast<uint32_t>(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= static_cast<uint32_t>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                v |= static_cast<uint32_t>(c - 'A' + 10);
            else
                return false;
        }
        return true;
    }
    // One raw UTF-8 character, decoded and range-checked.
    bool raw_char(std::string& out) {
        const unsigned c = byte(i_);
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            len = 1;
            cp = c;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (s_.size() - i_ < len) return false;
        for (size_t k = 1; k < len; ++k) {
            if ((byte(i_ + k) & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (byte(i_ + k) & 0x3f);
        }
        static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        out.append(s_.substr(i_, len));
        i_ += len;
        return true;
    }
    bool string(std::string& out) {
        if (!eat('"')) return false;
        while (i_ < s_.size()) {
            const unsigned c = byte(i_);
            if (c == '"') {
                ++i_;
                return true;
            }
            if (c < 0x20) return false;
            if (c != '\\') {
                if (!raw_char(out)) return false;
                continue;
            }
            if (++i_ >= s_.size()) return false;
            const char e = s_[i_++];
            switch (e) {
                case '"':
                case '\\':
                case '/':
                    out += e;
                    break;
                case 'b':
                    out += '\b';
                    break;
                case 'f':
                    out += '\f';
                    break;
                case 'n':
                    out += '\n';
                    break;
                case 'r':
                    out += '\r';
                    break;
                case 't':
                    out += '\t';
                    break;
                case 'u': {
                    uint32_t cp;
                    if (!hex4(cp)) return false;
                    if (cp >= 0xdc00 && cp <= 0xdfff) return false;
                    if (cp >= 0xd800 && cp <= 0xdbff) {
                        uint32_t lo;
                        if (!eat('\\') || !eat('u') || !hex4(lo) || lo < 0xdc00 || lo > 0xdfff)
                            return false;
                        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    }
                    put_utf8(cp, out);
                    break;
                }
                default:
                    return false;
            }
        }
        return false;
    }

    std::string_view s_;
    size_t i_ = 0;
};

TEST(FlatJsonChecker, RejectsWhatIsNotValidJson) {
    EXPECT_TRUE(FlatJson::parse_line("{\"a\":\"b\",\"c\":\"\\u00e9\\ud83d\\ude00\"}\n"));
    EXPECT_EQ(*FlatJson::parse_line("{\"c\":\"\\u00e9\\ud83d\\ude00\"}\n"),
              (Pairs{{"c", "\xc3\xa9\xf0\x9f\x98\x80"}}));
    for (const char* bad : {"{\"a\":\"b\"}",                // no newline
                            "{\"a\":\"b\n\"}\n",            // raw control byte
                            "{\"a\":\"\xff\"}\n",           // not UTF-8
                            "{\"a\":\"\xc0\xaf\"}\n",       // overlong
                            "{\"a\":\"\xed\xa0\x80\"}\n",   // surrogate
                            "{\"a\":\"\\x41\"}\n",          // no such escape
                            "{\"a\":\"\\ud800\"}\n",        // lone surrogate escape
                            "{\"a\":\"b\",\"a\":\"c\"}\n",  // duplicate name
                            "{\"a\":\"b\"}x\n",             // trailing garbage
                            "{\"a\":\"b\"\n",               // unclosed
                            "{\"a\":1}\n"})                 // not a string
        EXPECT_FALSE(FlatJson::parse_line(bad)) << bad;
}

std::vector<std::string>& captured() {
    static std::vector<std::string> lines;
    return lines;
}

void capture(std::string_view line) {
    captured().emplace_back(line);
}

class LogOutput : public ::testing::Test {
  protected:
    void SetUp() override {
        captured().clear();
        log_set_sink(&capture);
    }
    void TearDown() override {
        log_set_sink(nullptr);
        log_configure(LogLevel::kInfo, LogFormat::kText);
    }
    // The one captured line, parsed; fails the test when it is not valid JSON.
    Pairs json() {
        EXPECT_EQ(captured().size(), 1u);
        if (captured().size() != 1) return {};
        const std::optional<Pairs> p = FlatJson::parse_line(captured()[0]);
        EXPECT_TRUE(p.has_value()) << "not valid JSON: " << captured()[0];
        return p.value_or(Pairs{});
    }
    // Everything after the timestamp of the one captured text line.
    std::string text_after_ts() {
        EXPECT_EQ(captured().size(), 1u);
        if (captured().size() != 1) return {};
        const std::string& line = captured()[0];
        // 2024-01-02T03:04:05.678Z is 24 characters.
        EXPECT_GT(line.size(), 25u);
        EXPECT_EQ(line[10], 'T');
        EXPECT_EQ(line[23], 'Z');
        return line.substr(25);
    }
};

Pairs without_ts(Pairs p) {
    EXPECT_FALSE(p.empty());
    if (p.empty()) return p;
    EXPECT_EQ(p[0].first, "ts");
    EXPECT_EQ(p[0].second.size(), 24u) << p[0].second;
    p.erase(p.begin());
    return p;
}

TEST_F(LogOutput, JsonIsOneFlatObjectInTheOrderWritten) {
    log_configure(LogLevel::kInfo, LogFormat::kJson);
    LOG_INFO("viewer-connected", "session=%s peer=%s security=%s reason=\"%s\"", "lab1",
             "127.0.0.1:40000", "vnc", "first viewer");
    EXPECT_EQ(without_ts(json()), (Pairs{{"level", "info"},
                                         {"event", "viewer-connected"},
                                         {"session", "lab1"},
                                         {"peer", "127.0.0.1:40000"},
                                         {"security", "vnc"},
                                         {"reason", "first viewer"}}));
}

TEST_F(LogOutput, JsonWithoutDetailsAndWithFreeText) {
    log_configure(LogLevel::kDebug, LogFormat::kJson);
    log_event(LogLevel::kWarn, "started");
    EXPECT_EQ(without_ts(json()), (Pairs{{"level", "warn"}, {"event", "started"}}));
    captured().clear();
    LOG_DEBUG("note", "%s", "loop is idle, nothing to do");
    EXPECT_EQ(
        without_ts(json()),
        (Pairs{{"level", "debug"}, {"event", "note"}, {"msg", "loop is idle, nothing to do"}}));
}

TEST_F(LogOutput, JsonDuplicateKeysAreSuffixed) {
    log_configure(LogLevel::kInfo, LogFormat::kJson);
    LOG_INFO("dup", "session=a session=b ts=x event=y session_2=z level=l");
    EXPECT_EQ(without_ts(json()), (Pairs{{"level", "info"},
                                         {"event", "dup"},
                                         {"session", "a"},
                                         {"session_2", "b"},
                                         {"ts_2", "x"},
                                         {"event_2", "y"},
                                         {"session_2_2", "z"},
                                         {"level_2", "l"}}));
}

TEST_F(LogOutput, JsonStaysValidWhateverBytesAPeerSent) {
    log_configure(LogLevel::kInfo, LogFormat::kJson);
    std::string controls;
    for (char c = 1; c < 0x20; ++c)
        controls += c;
    // Quotes and backslashes in a bare value; controls and DEL; bytes that are not UTF-8
    // (0xff, an overlong '/', a surrogate, a sequence cut short); real UTF-8 kept as it is.
    LOG_INFO("hostile\x01\"ev", "a=%s b=%s c=%s d=%s e=%s", "x\"y\\z", controls.c_str(),
             "\x7f\xff\xfe", "\xc0\xaf\xed\xa0\x80\xe2\x82", "p\xc3\xa4ss\xf0\x9f\x98\x80");
    ASSERT_EQ(captured().size(), 1u);
    const std::string& line = captured()[0];
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line only";
    EXPECT_NE(line.find("\\u0001"), std::string::npos) << line;
    EXPECT_NE(line.find("\\u001f"), std::string::npos) << line;
    const std::string fffd = "\xef\xbf\xbd";
    EXPECT_EQ(without_ts(json()), (Pairs{{"level", "info"},
                                         {"event", "hostile\x01\"ev"},
                                         {"a", "x\"y\\z"},
                                         {"b", controls},
                                         {"c", "\x7f" + fffd + fffd},
                                         {"d", fffd + fffd + fffd + fffd + fffd + fffd + fffd},
                                         {"e", "p\xc3\xa4ss\xf0\x9f\x98\x80"}}));
}

TEST_F(LogOutput, JsonOfQuotedHostileValuesAndANulByte) {
    log_configure(LogLevel::kInfo, LogFormat::kJson);
    // A quoted value with an escaped quote, a space and a newline inside.
    const std::string name = "my \"desk\"\ntop\\";
    LOG_INFO("desktop-name", "name=\"%s\" n=1", log_escape_quoted(name).c_str());
    EXPECT_EQ(without_ts(json()),
              (Pairs{{"level", "info"}, {"event", "desktop-name"}, {"name", name}, {"n", "1"}}));
    // A NUL ends the printf output; what came before it is still a well-formed line.
    captured().clear();
    LOG_INFO("nul", "a=x%cy b=2", 0);
    EXPECT_EQ(without_ts(json()), (Pairs{{"level", "info"}, {"event", "nul"}, {"a", "x"}}));
}

TEST_F(LogOutput, JsonStaysValidWhenTheDetailsAreCutAtTheCap) {
    log_configure(LogLevel::kInfo, LogFormat::kJson);
    // A 3-byte character straddles the 2 KiB cap, inside a quote that the cap leaves open.
    // Built with append: GCC 12 misreports string operator+ on long strings (-Warray-bounds).
    std::string big(2040, 'a');
    big.append("\xe2\x82\xac\xe2\x82\xac");
    LOG_INFO("long", "r=\"%s\"", big.c_str());
    const Pairs p = without_ts(json());
    ASSERT_EQ(p.size(), 3u);
    EXPECT_EQ(p[2].first, "r");
    // 2047 bytes fit: r=" (3) + 2040 'a' + one euro sign (3) + the first byte of the next.
    std::string expected(2040, 'a');
    expected.append("\xe2\x82\xac\xef\xbf\xbd");
    EXPECT_EQ(p[2].second, expected);
}

TEST_F(LogOutput, TextFormatIsUnchanged) {
    log_configure(LogLevel::kInfo, LogFormat::kText);
    LOG_INFO("viewer-connected", "session=%s reason=\"%s\"  free text", "lab1", "a b");
    EXPECT_EQ(text_after_ts(), "info viewer-connected session=lab1 reason=\"a b\"  free text\n");
    captured().clear();
    log_event(LogLevel::kError, "stopped");
    EXPECT_EQ(text_after_ts(), "error stopped\n");
}

TEST_F(LogOutput, SecretsAreRedactedInText) {
    log_configure(LogLevel::kInfo, LogFormat::kText);
    LOG_WARN("login", "user=%s password=%s client_secret=\"%s\" keysym=%s", "bob", "hunter2",
             "s3 cr3t", "0xff0d");
    EXPECT_EQ(text_after_ts(),
              "warn login user=bob password=[redacted] client_secret=[redacted] keysym=0xff0d\n");
    EXPECT_EQ(captured()[0].find("hunter2"), std::string::npos);
}

TEST_F(LogOutput, SecretsAreRedactedInJson) {
    log_configure(LogLevel::kInfo, LogFormat::kJson);
    LOG_WARN("login", "user=%s password=%s client_secret=\"%s\" keysym=%s api-KEY=%s then %s",
             "bob", "hunter2", "s3 cr3t", "0xff0d", "k", "token=abc");
    EXPECT_EQ(without_ts(json()), (Pairs{{"level", "warn"},
                                         {"event", "login"},
                                         {"user", "bob"},
                                         {"password", "[redacted]"},
                                         {"client_secret", "[redacted]"},
                                         {"keysym", "0xff0d"},
                                         {"api-KEY", "[redacted]"},
                                         {"msg", "then token=[redacted]"}}));
    for (const char* secret : {"hunter2", "s3 cr3t", "abc"})
        EXPECT_EQ(captured()[0].find(secret), std::string::npos) << secret;
}

TEST_F(LogOutput, LevelFilterStillApplies) {
    log_configure(LogLevel::kWarn, LogFormat::kJson);
    LOG_INFO("quiet", "a=1");
    EXPECT_TRUE(captured().empty());
}

}  // namespace
}  // namespace rfbcast
