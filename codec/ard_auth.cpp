#include "codec/ard_auth.h"

#include <gmp.h>
#include <nettle/aes.h>
#include <nettle/md5.h>
#include <nettle/sha2.h>

#include <algorithm>
#include <cstring>

#include "codec/secure_wipe.h"

namespace rfb {

namespace {

// The RFC primes were generated from their defining formulas (2^n - 2^(n-64) - 1 +
// 2^64 * (floor(2^(n-130) * pi) + k)) with mpmath, and the 2048-bit one compared with
// OpenSSL's built-in modp_2048 group.
constexpr uint8_t kRfc2409Group2Prime[] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc9, 0x0f, 0xda, 0xa2, 0x21, 0x68, 0xc2, 0x34,
    0xc4, 0xc6, 0x62, 0x8b, 0x80, 0xdc, 0x1c, 0xd1, 0x29, 0x02, 0x4e, 0x08, 0x8a, 0x67, 0xcc, 0x74,
    0x02, 0x0b, 0xbe, 0xa6, 0x3b, 0x13, 0x9b, 0x22, 0x51, 0x4a, 0x08, 0x79, 0x8e, 0x34, 0x04, 0xdd,
    0xef, 0x95, 0x19, 0xb3, 0xcd, 0x3a, 0x43, 0x1b, 0x30, 0x2b, 0x0a, 0x6d, 0xf2, 0x5f, 0x14, 0x37,
    0x4f, 0xe1, 0x35, 0x6d, 0x6d, 0x51, 0xc2, 0x45, 0xe4, 0x85, 0xb5, 0x76, 0x62, 0x5e, 0x7e, 0xc6,
    0xf4, 0x4c, 0x42, 0xe9, 0xa6, 0x37, 0xed, 0x6b, 0x0b, 0xff, 0x5c, 0xb6, 0xf4, 0x06, 0xb7, 0xed,
    0xee, 0x38, 0x6b, 0xfb, 0x5a, 0x89, 0x9f, 0xa5, 0xae, 0x9f, 0x24, 0x11, 0x7c, 0x4b, 0x1f, 0xe6,
    0x49, 0x28, 0x66, 0x51, 0xec, 0xe6, 0x53, 0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};
constexpr uint8_t kRfc3526Group14Prime[] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc9, 0x0f, 0xda, 0xa2, 0x21, 0x68, 0xc2, 0x34,
    0xc4, 0xc6, 0x62, 0x8b, 0x80, 0xdc, 0x1c, 0xd1, 0x29, 0x02, 0x4e, 0x08, 0x8a, 0x67, 0xcc, 0x74,
    0x02, 0x0b, 0xbe, 0xa6, 0x3b, 0x13, 0x9b, 0x22, 0x51, 0x4a, 0x08, 0x79, 0x8e, 0x34, 0x04, 0xdd,
    0xef, 0x95, 0x19, 0xb3, 0xcd, 0x3a, 0x43, 0x1b, 0x30, 0x2b, 0x0a, 0x6d, 0xf2, 0x5f, 0x14, 0x37,
    0x4f, 0xe1, 0x35, 0x6d, 0x6d, 0x51, 0xc2, 0x45, 0xe4, 0x85, 0xb5, 0x76, 0x62, 0x5e, 0x7e, 0xc6,
    0xf4, 0x4c, 0x42, 0xe9, 0xa6, 0x37, 0xed, 0x6b, 0x0b, 0xff, 0x5c, 0xb6, 0xf4, 0x06, 0xb7, 0xed,
    0xee, 0x38, 0x6b, 0xfb, 0x5a, 0x89, 0x9f, 0xa5, 0xae, 0x9f, 0x24, 0x11, 0x7c, 0x4b, 0x1f, 0xe6,
    0x49, 0x28, 0x66, 0x51, 0xec, 0xe4, 0x5b, 0x3d, 0xc2, 0x00, 0x7c, 0xb8, 0xa1, 0x63, 0xbf, 0x05,
    0x98, 0xda, 0x48, 0x36, 0x1c, 0x55, 0xd3, 0x9a, 0x69, 0x16, 0x3f, 0xa8, 0xfd, 0x24, 0xcf, 0x5f,
    0x83, 0x65, 0x5d, 0x23, 0xdc, 0xa3, 0xad, 0x96, 0x1c, 0x62, 0xf3, 0x56, 0x20, 0x85, 0x52, 0xbb,
    0x9e, 0xd5, 0x29, 0x07, 0x70, 0x96, 0x96, 0x6d, 0x67, 0x0c, 0x35, 0x4e, 0x4a, 0xbc, 0x98, 0x04,
    0xf1, 0x74, 0x6c, 0x08, 0xca, 0x18, 0x21, 0x7c, 0x32, 0x90, 0x5e, 0x46, 0x2e, 0x36, 0xce, 0x3b,
    0xe3, 0x9e, 0x77, 0x2c, 0x18, 0x0e, 0x86, 0x03, 0x9b, 0x27, 0x83, 0xa2, 0xec, 0x07, 0xa2, 0x8f,
    0xb5, 0xc5, 0x5d, 0xf0, 0x6f, 0x4c, 0x52, 0xc9, 0xde, 0x2b, 0xcb, 0xf6, 0x95, 0x58, 0x17, 0x18,
    0x39, 0x95, 0x49, 0x7c, 0xea, 0x95, 0x6a, 0xe5, 0x15, 0xd2, 0x26, 0x18, 0x98, 0xfa, 0x05, 0x10,
    0x15, 0x72, 0x8e, 0x5a, 0x8a, 0xac, 0xaa, 0x68, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

// An mpz_t that wipes its limbs before freeing them. (GMP may have freed older, smaller copies
// while growing a number; those are out of reach. Constant time is not a goal here.)
class Mpz {
  public:
    Mpz() { mpz_init(v_); }
    ~Mpz() {
        if (v_->_mp_alloc > 0)
            secure_wipe(v_->_mp_d, static_cast<size_t>(v_->_mp_alloc) * sizeof(mp_limb_t));
        mpz_clear(v_);
    }
    Mpz(const Mpz&) = delete;
    Mpz& operator=(const Mpz&) = delete;

    mpz_ptr get() { return v_; }
    mpz_srcptr get() const { return v_; }

    void import(std::span<const uint8_t> be) {
        if (be.empty()) {
            mpz_set_ui(v_, 0);
            return;
        }
        mpz_import(v_, be.size(), 1, 1, 1, 0, be.data());
    }
    // Writes the value as exactly out.size() big-endian bytes; false if it does not fit.
    bool export_to(std::span<uint8_t> out) const {
        const size_t bytes = (mpz_sizeinbase(v_, 2) + 7) / 8;
        if (mpz_sgn(v_) < 0 || bytes > out.size()) return false;
        std::fill(out.begin(), out.end(), uint8_t{0});
        if (mpz_sgn(v_) == 0) return true;
        size_t written = 0;
        mpz_export(out.data() + (out.size() - bytes), &written, 1, 1, 1, 0, v_);
        return written == bytes;
    }

  private:
    mpz_t v_;
};

// 2 <= v <= p - 2: excludes 0, 1 and p - 1, the values whose powers give away the result.
bool in_open_range(const Mpz& v, const Mpz& p) {
    if (mpz_cmp_ui(v.get(), 2) < 0) return false;
    Mpz top;
    mpz_sub_ui(top.get(), p.get(), 2);
    return mpz_cmp(v.get(), top.get()) <= 0;
}

constexpr size_t kExponentSize = 64;  // 512-bit private exponents

// Expands the caller's random bytes into `out`: SHA-256 in counter mode over a label, so the
// exponent and the padding come from independent streams and no caller has to know how many
// bytes each part needs. Block i = SHA-256("rfbcast-ard-v1" || label || U32 i || random).
void expand(std::span<const uint8_t> random, uint8_t label, std::span<uint8_t> out) {
    static constexpr char kTag[] = "rfbcast-ard-v1";
    uint8_t block[SHA256_DIGEST_SIZE];
    for (size_t at = 0, counter = 0; at < out.size(); ++counter) {
        struct sha256_ctx ctx;
        sha256_init(&ctx);
        sha256_update(&ctx, sizeof kTag - 1, reinterpret_cast<const uint8_t*>(kTag));
        const uint8_t head[5] = {label, static_cast<uint8_t>(counter >> 24),
                                 static_cast<uint8_t>(counter >> 16),
                                 static_cast<uint8_t>(counter >> 8), static_cast<uint8_t>(counter)};
        sha256_update(&ctx, sizeof head, head);
        sha256_update(&ctx, random.size(), random.data());
        sha256_digest(&ctx, sizeof block, block);
        const size_t n = std::min(sizeof block, out.size() - at);
        std::memcpy(out.data() + at, block, n);
        at += n;
        secure_wipe(&ctx, sizeof ctx);
    }
    secure_wipe(block, sizeof block);
}

// A private exponent in [2, p - 2] from the random stream `label`.
void derive_exponent(std::span<const uint8_t> random, uint8_t label, const Mpz& p, Mpz& x) {
    uint8_t bytes[kExponentSize];
    expand(random, label, bytes);
    x.import(bytes);
    secure_wipe(bytes, sizeof bytes);
    Mpz range;
    mpz_sub_ui(range.get(), p.get(), 3);  // p >= 2^511, so this is positive
    mpz_mod(x.get(), x.get(), range.get());
    mpz_add_ui(x.get(), x.get(), 2);
}

// The prime and generator both sides must agree are safe to compute with.
bool check_group(const Mpz& p, uint16_t generator, std::string& error) {
    if (mpz_even_p(p.get())) {
        error = "ARD: the server's prime is even";
        return false;
    }
    if (mpz_sizeinbase(p.get(), 2) < kArdMinPrimeBits || mpz_cmp_ui(p.get(), 1) <= 0) {
        error =
            "ARD: the server's prime is shorter than " + std::to_string(kArdMinPrimeBits) + " bits";
        return false;
    }
    Mpz g;
    mpz_set_ui(g.get(), generator);
    if (!in_open_range(g, p)) {
        error =
            "ARD: the server's generator " + std::to_string(generator) + " is outside [2, prime-2]";
        return false;
    }
    return true;
}

bool valid_keylen(size_t keylen) {
    return keylen >= kArdMinKeyLength && keylen <= kArdMaxKeyLength;
}

struct ServerMessage {
    uint16_t generator = 0;
    size_t keylen = 0;
    std::span<const uint8_t> prime, public_key;
};

bool parse_server_message(std::span<const uint8_t> msg, ServerMessage& out, std::string& error) {
    const size_t size = ard_server_message_size(msg);
    if (size == 0) {
        error = msg.size() < kArdServerHeaderSize
                    ? "ARD: server message shorter than its 4-byte header"
                    : "ARD: server key length " + std::to_string((msg[2] << 8) | msg[3]) +
                          " outside [" + std::to_string(kArdMinKeyLength) + ", " +
                          std::to_string(kArdMaxKeyLength) + "]";
        return false;
    }
    if (msg.size() != size) {
        error = "ARD: server message is " + std::to_string(msg.size()) + " bytes, expected " +
                std::to_string(size);
        return false;
    }
    out.generator = static_cast<uint16_t>((msg[0] << 8) | msg[1]);
    out.keylen = static_cast<size_t>((msg[2] << 8) | msg[3]);
    out.prime = msg.subspan(kArdServerHeaderSize, out.keylen);
    out.public_key = msg.subspan(kArdServerHeaderSize + out.keylen, out.keylen);
    return true;
}

bool check_credential(const std::string& s, const char* what, std::string& error) {
    if (s.size() > kArdMaxCredentialLength) {
        error = std::string("ARD: the ") + what + " is longer than " +
                std::to_string(kArdMaxCredentialLength) + " bytes";
        return false;
    }
    if (s.find('\0') != std::string::npos) {
        error = std::string("ARD: the ") + what + " contains a NUL byte";
        return false;
    }
    return true;
}

bool check_random(std::span<const uint8_t> random, size_t keylen, std::string& error) {
    if (random.size() < std::max(keylen, kArdMinRandomSize)) {
        error = "ARD: " + std::to_string(random.size()) + " random bytes given, at least " +
                std::to_string(std::max(keylen, kArdMinRandomSize)) + " needed";
        return false;
    }
    return true;
}

// MD5 of the shared secret as keylen big-endian bytes: the AES-128 key.
bool shared_key(const Mpz& shared, size_t keylen, uint8_t (&key)[MD5_DIGEST_SIZE]) {
    std::vector<uint8_t> bytes(keylen);
    const bool ok = shared.export_to(bytes);
    if (ok) {
        struct md5_ctx ctx;
        md5_init(&ctx);
        md5_update(&ctx, bytes.size(), bytes.data());
        md5_digest(&ctx, MD5_DIGEST_SIZE, key);
        secure_wipe(&ctx, sizeof ctx);
    }
    secure_wipe(bytes.data(), bytes.size());
    return ok;
}

std::string field_text(const uint8_t* field) {
    const uint8_t* end = std::find(field, field + kArdCredentialFieldSize, uint8_t{0});
    return std::string(reinterpret_cast<const char*>(field), static_cast<size_t>(end - field));
}

}  // namespace

std::span<const uint8_t> ard_rfc2409_group2_prime() {
    return kRfc2409Group2Prime;
}

std::span<const uint8_t> ard_rfc3526_group14_prime() {
    return kRfc3526Group14Prime;
}

size_t ard_server_message_size(std::span<const uint8_t> first4) {
    if (first4.size() < kArdServerHeaderSize) return 0;
    const size_t keylen = static_cast<size_t>((first4[2] << 8) | first4[3]);
    if (!valid_keylen(keylen)) return 0;
    return kArdServerHeaderSize + 2 * keylen;
}

size_t ard_client_reply_size(size_t keylen) {
    return valid_keylen(keylen) ? kArdCredentialsSize + keylen : 0;
}

ArdReply ard_client_reply(std::span<const uint8_t> server_msg, const std::string& username,
                          const std::string& password, std::span<const uint8_t> random) {
    ArdReply r;
    ServerMessage msg;
    if (!parse_server_message(server_msg, msg, r.error)) return r;
    if (!check_random(random, msg.keylen, r.error)) return r;
    if (!check_credential(username, "username", r.error)) return r;
    if (!check_credential(password, "password", r.error)) return r;

    Mpz p, g, server_pub;
    p.import(msg.prime);
    if (!check_group(p, msg.generator, r.error)) return r;
    mpz_set_ui(g.get(), msg.generator);
    server_pub.import(msg.public_key);
    if (!in_open_range(server_pub, p)) {
        r.error = "ARD: the server's public key is outside (1, prime-1)";
        return r;
    }

    Mpz x, client_pub, shared;
    derive_exponent(random, 'x', p, x);
    mpz_powm_sec(client_pub.get(), g.get(), x.get(), p.get());
    // With a prime that is not a safe prime the generator may have a tiny order; sending 1 or
    // p-1 would hand the shared secret to anyone watching.
    if (!in_open_range(client_pub, p)) {
        r.error = "ARD: the server's generator gives a degenerate public key";
        return r;
    }
    mpz_powm_sec(shared.get(), server_pub.get(), x.get(), p.get());
    if (!in_open_range(shared, p)) {
        r.error = "ARD: degenerate shared secret (hostile server public key)";
        return r;
    }

    uint8_t key[MD5_DIGEST_SIZE];
    if (!shared_key(shared, msg.keylen, key)) {
        r.error = "ARD: internal error (shared secret does not fit the key length)";
        return r;
    }
    uint8_t plain[kArdCredentialsSize];
    expand(random, 'p', plain);
    std::memcpy(plain, username.data(), username.size());
    plain[username.size()] = 0;
    std::memcpy(plain + kArdCredentialFieldSize, password.data(), password.size());
    plain[kArdCredentialFieldSize + password.size()] = 0;

    r.bytes.resize(kArdCredentialsSize + msg.keylen);
    struct aes128_ctx aes;
    aes128_set_encrypt_key(&aes, key);
    aes128_encrypt(&aes, kArdCredentialsSize, r.bytes.data(), plain);  // ECB, block by block
    secure_wipe(&aes, sizeof aes);
    secure_wipe(key, sizeof key);
    secure_wipe(plain, sizeof plain);
    if (!client_pub.export_to(std::span<uint8_t>(r.bytes).subspan(kArdCredentialsSize))) {
        r.bytes.clear();
        r.error = "ARD: internal error (public key does not fit the key length)";
        return r;
    }
    r.ok = true;
    return r;
}

ArdServerHello ard_server_hello(uint16_t generator, std::span<const uint8_t> prime,
                                std::span<const uint8_t> random) {
    ArdServerHello h;
    const size_t keylen = prime.size();
    if (!valid_keylen(keylen)) {
        h.error = "ARD: prime of " + std::to_string(keylen) + " bytes outside [" +
                  std::to_string(kArdMinKeyLength) + ", " + std::to_string(kArdMaxKeyLength) + "]";
        return h;
    }
    if (!check_random(random, keylen, h.error)) return h;
    Mpz p, g, y, pub;
    p.import(prime);
    if (!check_group(p, generator, h.error)) return h;
    mpz_set_ui(g.get(), generator);
    derive_exponent(random, 'y', p, y);
    mpz_powm_sec(pub.get(), g.get(), y.get(), p.get());
    if (!in_open_range(pub, p)) {
        h.error = "ARD: the generator gives a degenerate public key";
        return h;
    }
    h.message.resize(kArdServerHeaderSize + 2 * keylen);
    h.message[0] = static_cast<uint8_t>(generator >> 8);
    h.message[1] = static_cast<uint8_t>(generator);
    h.message[2] = static_cast<uint8_t>(keylen >> 8);
    h.message[3] = static_cast<uint8_t>(keylen);
    std::copy(prime.begin(), prime.end(), h.message.begin() + kArdServerHeaderSize);
    h.private_key.resize(keylen);
    if (!pub.export_to(std::span<uint8_t>(h.message).subspan(kArdServerHeaderSize + keylen)) ||
        !y.export_to(h.private_key)) {
        h = ArdServerHello{};
        h.error = "ARD: internal error (key does not fit the key length)";
        return h;
    }
    h.ok = true;
    return h;
}

ArdCredentials ard_server_recover(std::span<const uint8_t> server_msg,
                                  std::span<const uint8_t> private_key,
                                  std::span<const uint8_t> client_reply) {
    ArdCredentials c;
    ServerMessage msg;
    if (!parse_server_message(server_msg, msg, c.error)) return c;
    if (private_key.size() != msg.keylen) {
        c.error = "ARD: private key size does not match the key length";
        return c;
    }
    if (client_reply.size() != kArdCredentialsSize + msg.keylen) {
        c.error = "ARD: client reply is " + std::to_string(client_reply.size()) +
                  " bytes, expected " + std::to_string(kArdCredentialsSize + msg.keylen);
        return c;
    }
    Mpz p, y, client_pub, shared;
    p.import(msg.prime);
    if (!check_group(p, msg.generator, c.error)) return c;
    y.import(private_key);
    if (mpz_sgn(y.get()) <= 0) {
        c.error = "ARD: private key is zero";
        return c;
    }
    client_pub.import(client_reply.subspan(kArdCredentialsSize));
    if (!in_open_range(client_pub, p)) {
        c.error = "ARD: the client's public key is outside (1, prime-1)";
        return c;
    }
    mpz_powm_sec(shared.get(), client_pub.get(), y.get(), p.get());
    if (!in_open_range(shared, p)) {
        c.error = "ARD: degenerate shared secret (hostile client public key)";
        return c;
    }
    uint8_t key[MD5_DIGEST_SIZE];
    if (!shared_key(shared, msg.keylen, key)) {
        c.error = "ARD: internal error (shared secret does not fit the key length)";
        return c;
    }
    uint8_t plain[kArdCredentialsSize];
    struct aes128_ctx aes;
    aes128_set_decrypt_key(&aes, key);
    aes128_decrypt(&aes, kArdCredentialsSize, plain, client_reply.data());
    secure_wipe(&aes, sizeof aes);
    secure_wipe(key, sizeof key);
    c.username = field_text(plain);
    c.password = field_text(plain + kArdCredentialFieldSize);
    secure_wipe(plain, sizeof plain);
    c.ok = true;
    return c;
}

bool ard_credentials_match(const ArdCredentials& got, std::string_view username,
                           std::string_view password) {
    // Whole 64-byte fields are compared, so the time does not depend on where the bytes
    // differ; only a length mismatch (which decides the result anyway) is visible.
    auto field_diff = [](std::string_view a, std::string_view b) {
        uint8_t diff = a.size() == b.size() ? 0 : 1;
        for (size_t i = 0; i < kArdCredentialFieldSize; ++i) {
            const uint8_t x = i < a.size() ? static_cast<uint8_t>(a[i]) : 0;
            const uint8_t y = i < b.size() ? static_cast<uint8_t>(b[i]) : 0;
            diff |= x ^ y;
        }
        // Nothing longer than a field can have been sent.
        if (a.size() > kArdCredentialFieldSize || b.size() > kArdCredentialFieldSize) diff |= 1;
        return diff;
    };
    if (!got.ok) return false;
    const uint8_t diff = field_diff(got.username, username) | field_diff(got.password, password);
    return diff == 0;
}

}  // namespace rfb
