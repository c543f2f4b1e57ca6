/* mpx-linkem frame fix-ups: VLAN tag re-insertion and checksum completion for frames whose sender
 * left the L4 checksum to offload (TP_STATUS_CSUMNOTREADY): the result must equal the real
 * checksum. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "emu/linkem/io.h"

/* Ethernet + IPv4 (198.18.0.1 -> 198.18.0.2) + UDP 1000 -> 2000, payload "hello" */
static const uint8_t udp4[] = { 0x02, 0,    0,    0,    0,    2,    0x02, 0,    0,    0,
                                0,    1,    0x08, 0x00, 0x45, 0x00, 0x00, 0x22, 0x00, 0x01,
                                0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 198,  18,   0,    1,
                                198,  18,   0,    2,    0x03, 0xe8, 0x07, 0xd0, 0x00, 0x0e,
                                0x00, 0x00, 'h',  'e',  'l',  'l',  'o',  0 };

static uint16_t verify(const uint8_t *f, size_t l4, size_t l4len, const uint8_t *pseudo,
                       size_t plen, uint8_t proto)
{
    uint32_t acc = proto + (uint32_t)l4len;
    for (size_t i = 0; i + 1 < plen; i += 2) acc += (uint32_t)(pseudo[i] << 8 | pseudo[i + 1]);
    for (size_t i = 0; i < l4len; i += 2)
        acc += (uint32_t)(f[l4 + i] << 8 | (i + 1 < l4len ? f[l4 + i + 1] : 0));
    while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)acc; /* 0xffff when the checksum is right */
}

static void test_udp4(void **st)
{
    (void)st;
    uint8_t f[sizeof(udp4)];
    memcpy(f, udp4, sizeof(f));
    f[40] = 0x12, f[41] = 0x34; /* a partial (pseudo-header) sum, as offload leaves it */
    assert_int_equal(lk_csum_complete(f, 48), 1);
    assert_int_equal(verify(f, 34, 14, f + 26, 8, 17), 0xffff);
    assert_memory_equal(f, udp4, 40); /* nothing else changed */
}

static void test_tcp6(void **st)
{
    (void)st;
    uint8_t f[14 + 40 + 24] = { 0 };
    f[12] = 0x86, f[13] = 0xdd;
    f[14] = 0x60;
    f[18] = 0, f[19] = 24; /* payload length */
    f[20] = 6;             /* next header TCP */
    f[21] = 64;
    f[22] = 0xfd, f[37] = 1, f[38] = 0xfd, f[53] = 2;
    uint8_t *t = f + 54;
    t[0] = 0x9c, t[1] = 0x40, t[2] = 0x1f, t[3] = 0x90, t[12] = 0x60, t[13] = 0x02;
    t[20] = 2, t[21] = 4, t[22] = 0x05, t[23] = 0xb4;
    assert_int_equal(lk_csum_complete(f, sizeof(f)), 1);
    assert_int_equal(verify(f, 54, 24, f + 22, 32, 6), 0xffff);
}

static void test_not_l4(void **st)
{
    (void)st;
    uint8_t arp[42] = { 0 };
    arp[12] = 0x08, arp[13] = 0x06;
    assert_int_equal(lk_csum_complete(arp, sizeof(arp)), 0);
    uint8_t f[sizeof(udp4)];
    memcpy(f, udp4, sizeof(f));
    f[20] = 0x20; /* more-fragments: left alone */
    assert_int_equal(lk_csum_complete(f, 48), 0);
    memcpy(f, udp4, sizeof(f));
    assert_int_equal(lk_csum_complete(f, 30), 0); /* truncated */
    f[17] = 0xff;                                 /* total length beyond the frame */
    assert_int_equal(lk_csum_complete(f, 48), 0);
}

static void test_vlan_insert(void **st)
{
    (void)st;
    uint8_t f[64];
    memcpy(f, udp4, sizeof(udp4));
    assert_int_equal(lk_vlan_insert(f, 48, sizeof(f), 0x8100, 0x2064), 52);
    assert_memory_equal(f, udp4, 12);
    static const uint8_t tag[] = { 0x81, 0x00, 0x20, 0x64, 0x08, 0x00 };
    assert_memory_equal(f + 12, tag, sizeof(tag));
    assert_memory_equal(f + 18, udp4 + 14, 34);
    assert_int_equal(lk_vlan_insert(f, 62, sizeof(f), 0x8100, 1), 62); /* no room */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_udp4),
        cmocka_unit_test(test_tcp6),
        cmocka_unit_test(test_not_l4),
        cmocka_unit_test(test_vlan_insert),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
