/**
 * @file lwipopts.h
 * @brief lwIP configuration of unit_metrics_lwip*: the lwIP source is compiled against
 * lwIP's headers in several configurations (TEST_LWIP_* below, set per test program)
 * and run over PCB and netif lists the test builds itself. No lwIP code is linked.
 */
#ifndef TEST_LWIPOPTS_H
#define TEST_LWIPOPTS_H

#ifndef TEST_LWIP_IPV4
#define TEST_LWIP_IPV4 1
#endif
#ifndef TEST_LWIP_IPV6
#define TEST_LWIP_IPV6 1
#endif
#ifndef TEST_LWIP_NO_SYS
#define TEST_LWIP_NO_SYS 0
#endif
#ifndef TEST_LWIP_MIB2
#define TEST_LWIP_MIB2 1
#endif
#ifndef TEST_LWIP_SINGLE_NETIF
#define TEST_LWIP_SINGLE_NETIF 0
#endif

#define NO_SYS                  TEST_LWIP_NO_SYS
#define LWIP_IPV4               TEST_LWIP_IPV4
#define LWIP_IPV6               TEST_LWIP_IPV6
#define LWIP_STATS              TEST_LWIP_MIB2
#define MIB2_STATS              TEST_LWIP_MIB2
#define LWIP_SINGLE_NETIF       TEST_LWIP_SINGLE_NETIF
#define LWIP_TCP                1
#define LWIP_UDP                1
#define LWIP_UDPLITE            1
#define LWIP_NETCONN            0
#define LWIP_SOCKET             0
#define LWIP_IPV6_NUM_ADDRESSES 3

/* Core context: the test's fakes count locks and check the context. */
void TestLwip_LockCore(void);
void TestLwip_UnlockCore(void);
void TestLwip_AssertCoreLocked(void);
#define LWIP_ASSERT_CORE_LOCKED() TestLwip_AssertCoreLocked()
#if !NO_SYS
#define LWIP_TCPIP_CORE_LOCKING 1
#define LOCK_TCPIP_CORE()       TestLwip_LockCore()
#define UNLOCK_TCPIP_CORE()     TestLwip_UnlockCore()
#endif

#endif /* TEST_LWIPOPTS_H */
