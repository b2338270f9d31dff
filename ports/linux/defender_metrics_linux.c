/**
 * @file defender_metrics_linux.c
 * @brief Metrics source for Linux hosts: sock_diag / rtnetlink, with a /proc fallback.
 *
 * Every input is streamed through the fixed buffer of the source object and every
 * entry goes to the sink as soon as it is decoded, so memory is fixed and the cost
 * is linear in the number of sockets.
 */
#define _GNU_SOURCE

#include "defender_metrics_linux.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>

/** @brief Kernel socket states used here (include/net/tcp_states.h). */
#define LINUX_STATE_ESTABLISHED 1U
#define LINUX_STATE_CLOSE       7U
#define LINUX_STATE_LISTEN      10U

/** @brief Result of one netlink dump. */
typedef enum
{
    DUMP_OK = 0,  /**< Dump complete. */
    DUMP_REFUSED, /**< Netlink refused before anything was delivered: use /proc. */
    DUMP_FAILED   /**< Failed after entries were delivered. */
} DumpResult_t;

/** @brief One socket, decoded from sock_diag or a /proc/net line. */
typedef struct SocketEntry
{
    uint32_t state;             /**< Kernel state (TCP_* numbering). */
    DefenderIpAddress_t local;  /**< Local address. */
    DefenderIpAddress_t remote; /**< Remote address. */
    uint16_t localPort;         /**< Local port. */
    uint16_t remotePort;        /**< Remote port. */
} SocketEntry_t;

/** @brief What a socket collection is doing. */
typedef struct SocketWalk
{
    DefenderLinuxSource_t *pSource; /**< The source. */
    DefenderMetricGroup_t group;    /**< Group being collected. */
    DefenderMetricsSink_t *pSink;   /**< Where entries go. */
    uint32_t delivered;             /**< Entries seen by the current dump. */
} SocketWalk_t;

/** @brief Handles one netlink message of a dump. */
typedef void (*MessageHandler_t)(void *pArg, const struct nlmsghdr *pMessage);

/** @brief Handles one /proc line (header lines excluded); returns false if malformed. */
typedef bool (*LineHandler_t)(void *pArg, const char *pLine, size_t length);

/*-----------------------------------------------------------------------------------------*/
/* Addresses and interface names                                                           */
/*-----------------------------------------------------------------------------------------*/

/*
 * Netlink payload accessors that keep `const` (the kernel's NLMSG_DATA, RTA_DATA,
 * RTA_NEXT, IFLA_RTA and IFA_RTA macros cast it away, which -Wcast-qual rejects).
 */

/** @brief Payload of a netlink message. */
static const void *messageData(const struct nlmsghdr *pMessage)
{
    return (const uint8_t *) pMessage + NLMSG_HDRLEN;
}

/** @brief Payload of a routing attribute. */
static const void *attributeData(const struct rtattr *pAttr)
{
    return (const uint8_t *) pAttr + RTA_LENGTH(0);
}

/** @brief The attribute after `pAttr`, shortening `*pRemaining` (as RTA_NEXT). */
static const struct rtattr *nextAttribute(const struct rtattr *pAttr, unsigned int *pRemaining)
{
    *pRemaining -= RTA_ALIGN(pAttr->rta_len);
    return (const struct rtattr *) ((const uint8_t *) pAttr + RTA_ALIGN(pAttr->rta_len));
}

/** @brief First attribute after a fixed header of `size` bytes (as IFLA_RTA/IFA_RTA). */
static const struct rtattr *firstAttribute(const void *pHeader, size_t size)
{
    return (const struct rtattr *) ((const uint8_t *) pHeader + NLMSG_ALIGN(size));
}

/**
 * @brief Turns an IPv4-mapped IPv6 address into IPv4, in place.
 * @param[in,out] pAddress The address.
 */
static void normaliseAddress(DefenderIpAddress_t *pAddress)
{
    static const uint8_t mappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFFU, 0xFFU};

    if ((pAddress->family == 6U) && (memcmp(pAddress->bytes, mappedPrefix, 12U) == 0))
    {
        pAddress->family = 4U;
        memmove(pAddress->bytes, &pAddress->bytes[12], 4U);
        memset(&pAddress->bytes[4], 0, 12U);
    }
}

/**
 * @brief Tells whether an address is the wildcard address (0.0.0.0 or ::).
 * @param[in] pAddress The address.
 * @return true for the wildcard.
 */
static bool isWildcard(const DefenderIpAddress_t *pAddress)
{
    size_t length = (pAddress->family == 4U) ? 4U : 16U;
    bool wildcard = true;
    size_t i;

    for (i = 0U; i < length; i++)
    {
        if (pAddress->bytes[i] != 0U)
        {
            wildcard = false;
        }
    }
    return wildcard;
}

/**
 * @brief Tells whether an address is a loopback address (127.0.0.0/8 or ::1).
 * @param[in] pAddress The address (normalised).
 * @return true for loopback.
 */
static bool isLoopbackAddress(const DefenderIpAddress_t *pAddress)
{
    static const uint8_t loopback6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1U};
    bool loopback;

    if (pAddress->family == 4U)
    {
        loopback = (pAddress->bytes[0] == 127U);
    }
    else
    {
        loopback = (memcmp(pAddress->bytes, loopback6, 16U) == 0);
    }
    return loopback;
}

/**
 * @brief Copies an interface name, stopping at an alias separator (`eth0:1` -> `eth0`).
 * @param[out] pOut Buffer of DEFENDER_INTERFACE_NAME_SIZE bytes.
 * @param[in] pName The name.
 * @param[in] length Its length (at most; stops at NUL too).
 * @return true when the name fits.
 */
static bool copyName(char *pOut, const char *pName, size_t length)
{
    size_t n = 0U;
    bool fits = true;

    while ((n < length) && (pName[n] != '\0') && (pName[n] != ':'))
    {
        n++;
    }
    if ((n == 0U) || (n >= DEFENDER_INTERFACE_NAME_SIZE))
    {
        fits = false;
        pOut[0] = '\0';
    }
    else
    {
        memcpy(pOut, pName, n);
        pOut[n] = '\0';
    }
    return fits;
}

/**
 * @brief Adds an address to the address table (ignoring duplicates).
 * @param[in,out] pSource The source.
 * @param[in] pAddress The address (normalised).
 * @param[in] pName Owning interface name, or NULL when only the index is known yet.
 * @param[in] ifIndex Owning interface index (0 unknown).
 */
static void addAddress(DefenderLinuxSource_t *pSource, const DefenderIpAddress_t *pAddress,
                       const char *pName, uint32_t ifIndex)
{
    size_t i;
    bool present = false;

    for (i = 0U; i < pSource->addressCount; i++)
    {
        if ((pSource->addresses[i].address.family == pAddress->family) &&
            (memcmp(pSource->addresses[i].address.bytes, pAddress->bytes, 16U) == 0))
        {
            present = true;
        }
    }
    if (present)
    {
        /* Nothing to do. */
    }
    else if (pSource->addressCount >= DEFENDER_LINUX_MAX_ADDRESSES)
    {
        pSource->stats.addressesDropped++;
    }
    else
    {
        DefenderLinuxAddress_t *pEntry = &pSource->addresses[pSource->addressCount];

        pEntry->address = *pAddress;
        pEntry->ifIndex = ifIndex;
        pEntry->name[0] = '\0';
        if (pName != NULL)
        {
            (void) copyName(pEntry->name, pName, DEFENDER_INTERFACE_NAME_SIZE);
        }
        pSource->addressCount++;
    }
}

/**
 * @brief Sets the loopback interface name from the table (owner of 127.0.0.1 or ::1),
 * "lo" when neither is listed.
 * @param[in,out] pSource The source.
 */
static void findLoopbackName(DefenderLinuxSource_t *pSource)
{
    size_t i;

    (void) strcpy(pSource->loopbackName, "lo");
    for (i = 0U; i < pSource->addressCount; i++)
    {
        const DefenderLinuxAddress_t *pEntry = &pSource->addresses[i];

        if ((pEntry->name[0] != '\0') && isLoopbackAddress(&pEntry->address))
        {
            (void) strcpy(pSource->loopbackName, pEntry->name);
            break;
        }
    }
}

/**
 * @brief Finds the interface owning a local address.
 * @param[in] pSource The source (address table built).
 * @param[in] pAddress The address (normalised).
 * @return The name; empty for a wildcard or unknown address.
 */
static const char *interfaceOf(const DefenderLinuxSource_t *pSource,
                               const DefenderIpAddress_t *pAddress)
{
    const char *pName = "";
    size_t i;

    if (isWildcard(pAddress))
    {
        /* Wildcard bind: no interface. */
    }
    else if (isLoopbackAddress(pAddress))
    {
        pName = pSource->loopbackName;
    }
    else
    {
        for (i = 0U; i < pSource->addressCount; i++)
        {
            if ((pSource->addresses[i].address.family == pAddress->family) &&
                (memcmp(pSource->addresses[i].address.bytes, pAddress->bytes, 16U) == 0))
            {
                pName = pSource->addresses[i].name;
                break;
            }
        }
    }
    return pName;
}

/*-----------------------------------------------------------------------------------------*/
/* Delivery                                                                                */
/*-----------------------------------------------------------------------------------------*/

/**
 * @brief Marks (port, interface) as delivered.
 * @param[in,out] pSource The source.
 * @param[in] pName Interface name ("" for wildcard).
 * @param[in] port The port.
 * @return true when the pair is new (or cannot be tracked: slots exhausted).
 */
static bool markPort(DefenderLinuxSource_t *pSource, const char *pName, uint16_t port)
{
    size_t slot = 0U;
    bool fresh = true;
    uint8_t bit = (uint8_t) (1U << (port & 7U));

    while ((slot < pSource->slotCount) && (strcmp(pSource->slotNames[slot], pName) != 0))
    {
        slot++;
    }
    if ((slot == pSource->slotCount) && (slot < DEFENDER_LINUX_PORT_SLOTS))
    {
        (void) strcpy(pSource->slotNames[slot], pName);
        memset(pSource->portBits[slot], 0, sizeof(pSource->portBits[slot]));
        pSource->slotCount++;
    }
    if (slot >= DEFENDER_LINUX_PORT_SLOTS)
    {
        pSource->stats.dedupeOverflows++;
    }
    else if ((pSource->portBits[slot][port >> 3U] & bit) != 0U)
    {
        fresh = false;
    }
    else
    {
        pSource->portBits[slot][port >> 3U] |= bit;
    }
    return fresh;
}

/**
 * @brief Delivers a decoded socket to the sink if it belongs to the group collected.
 * @param[in,out] pWalk The collection.
 * @param[in,out] pEntry The socket (addresses normalised here).
 */
static void deliverSocket(SocketWalk_t *pWalk, SocketEntry_t *pEntry)
{
    DefenderLinuxSource_t *pSource = pWalk->pSource;

    normaliseAddress(&pEntry->local);
    normaliseAddress(&pEntry->remote);
    pWalk->delivered++;

    if (pWalk->group == DEFENDER_METRIC_TCP_CONNECTIONS)
    {
        if (pEntry->state == LINUX_STATE_ESTABLISHED)
        {
            DefenderConnection_t connection;

            memset(&connection, 0, sizeof(connection));
            connection.remoteAddress = pEntry->remote;
            connection.remotePort = pEntry->remotePort;
            connection.localPort = pEntry->localPort;
            (void) strcpy(connection.localInterface, interfaceOf(pSource, &pEntry->local));
            Defender_SinkAddConnection(pWalk->pSink, &connection);
        }
    }
    else
    {
        bool listening;

        if (pWalk->group == DEFENDER_METRIC_LISTENING_TCP_PORTS)
        {
            listening = (pEntry->state == LINUX_STATE_LISTEN);
        }
        else
        {
            listening = (pEntry->state == LINUX_STATE_CLOSE) && (pEntry->remotePort == 0U) &&
                        isWildcard(&pEntry->remote);
        }
        if (listening && (pEntry->localPort != 0U))
        {
            DefenderListeningPort_t port;

            memset(&port, 0, sizeof(port));
            port.port = pEntry->localPort;
            (void) strcpy(port.interfaceName, interfaceOf(pSource, &pEntry->local));
            if (markPort(pSource, port.interfaceName, port.port))
            {
                Defender_SinkAddListeningPort(pWalk->pSink, &port);
            }
        }
    }
}

/*-----------------------------------------------------------------------------------------*/
/* Netlink                                                                                 */
/*-----------------------------------------------------------------------------------------*/

/**
 * @brief Sends a dump request and streams the answer, message by message, to a handler.
 * @param[in,out] pSource The source (its buffer receives the datagrams).
 * @param[in] protocol NETLINK_SOCK_DIAG or NETLINK_ROUTE.
 * @param[in,out] pRequest The request, starting with its nlmsghdr (seq is set here).
 * @param[in] handler Called for every message of the dump.
 * @param[in] pArg Passed to the handler.
 * @param[in] pDelivered Counter the handler increments per entry (NULL: none), to tell a
 *            refusal before any entry from a failure in the middle.
 * @return DUMP_OK, DUMP_REFUSED or DUMP_FAILED.
 */
static DumpResult_t netlinkDump(DefenderLinuxSource_t *pSource, int protocol,
                                struct nlmsghdr *pRequest, MessageHandler_t handler, void *pArg,
                                const uint32_t *pDelivered)
{
    DumpResult_t result = DUMP_REFUSED;
    struct sockaddr_nl kernel;
    bool done = false;
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);

    memset(&kernel, 0, sizeof(kernel));
    kernel.nl_family = AF_NETLINK;
    pSource->seq++;
    pRequest->nlmsg_seq = pSource->seq;

    if ((fd >= 0) &&
        (sendto(fd, pRequest, pRequest->nlmsg_len, 0, (const struct sockaddr *) &kernel,
                sizeof(kernel)) == (ssize_t) pRequest->nlmsg_len))
    {
        result = DUMP_OK;
    }
    while ((result == DUMP_OK) && !done)
    {
        struct iovec iov = {pSource->buffer.bytes, sizeof(pSource->buffer.bytes)};
        struct msghdr header;
        ssize_t received;

        memset(&header, 0, sizeof(header));
        header.msg_name = &kernel;
        header.msg_namelen = sizeof(kernel);
        header.msg_iov = &iov;
        header.msg_iovlen = 1U;
        received = recvmsg(fd, &header, 0);
        if ((received < 0) && (errno == EINTR))
        {
            continue;
        }
        if ((received <= 0) || ((header.msg_flags & MSG_TRUNC) != 0))
        {
            result = DUMP_FAILED;
        }
        else
        {
            size_t offset = 0U;

            while (!done && (result == DUMP_OK) &&
                   ((offset + sizeof(struct nlmsghdr)) <= (size_t) received))
            {
                const struct nlmsghdr *pMessage =
                    (const struct nlmsghdr *) &pSource->buffer.bytes[offset];
                size_t length = pMessage->nlmsg_len;

                if ((length < sizeof(struct nlmsghdr)) || (length > ((size_t) received - offset)))
                {
                    pSource->stats.malformedMessages++;
                    result = DUMP_FAILED;
                    break;
                }
                offset += NLMSG_ALIGN(length);
                if (pMessage->nlmsg_seq != pSource->seq)
                {
                    pSource->stats.malformedMessages++;
                }
                else if (pMessage->nlmsg_type == NLMSG_DONE)
                {
                    done = true;
                }
                else if (pMessage->nlmsg_type == NLMSG_ERROR)
                {
                    result = DUMP_FAILED;
                }
                else
                {
                    handler(pArg, pMessage);
                }
            }
        }
    }
    if ((result == DUMP_FAILED) && ((pDelivered == NULL) || (*pDelivered == 0U)))
    {
        result = DUMP_REFUSED;
    }
    if (fd >= 0)
    {
        (void) close(fd);
    }
    return result;
}

/**
 * @brief sock_diag message handler: decodes an inet_diag_msg and delivers it.
 * @param[in,out] pArg The SocketWalk_t.
 * @param[in] pMessage The message.
 */
static void onDiagMessage(void *pArg, const struct nlmsghdr *pMessage)
{
    SocketWalk_t *pWalk = (SocketWalk_t *) pArg;
    struct inet_diag_msg diag;

    if ((pMessage->nlmsg_type != SOCK_DIAG_BY_FAMILY) ||
        (pMessage->nlmsg_len < NLMSG_LENGTH(sizeof(diag))))
    {
        pWalk->pSource->stats.malformedMessages++;
    }
    else
    {
        SocketEntry_t entry;

        memcpy(&diag, messageData(pMessage), sizeof(diag));
        memset(&entry, 0, sizeof(entry));
        entry.state = diag.idiag_state;
        entry.local.family = (diag.idiag_family == AF_INET) ? 4U : 6U;
        entry.remote.family = entry.local.family;
        memcpy(entry.local.bytes, diag.id.idiag_src, (entry.local.family == 4U) ? 4U : 16U);
        memcpy(entry.remote.bytes, diag.id.idiag_dst, (entry.local.family == 4U) ? 4U : 16U);
        entry.localPort = ntohs(diag.id.idiag_sport);
        entry.remotePort = ntohs(diag.id.idiag_dport);
        deliverSocket(pWalk, &entry);
    }
}

/**
 * @brief Dumps the sockets of one family and protocol in the given states via sock_diag.
 * @param[in,out] pWalk The collection.
 * @param[in] family AF_INET or AF_INET6.
 * @param[in] protocol IPPROTO_TCP or IPPROTO_UDP.
 * @param[in] states Bit mask of states (1 << state).
 * @return As netlinkDump().
 */
static DumpResult_t diagDump(SocketWalk_t *pWalk, uint8_t family, uint8_t protocol, uint32_t states)
{
    struct
    {
        struct nlmsghdr header;
        struct inet_diag_req_v2 request;
    } message;

    memset(&message, 0, sizeof(message));
    message.header.nlmsg_len = (uint32_t) sizeof(message);
    message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    message.header.nlmsg_flags = (uint16_t) (NLM_F_REQUEST | NLM_F_DUMP);
    message.request.sdiag_family = family;
    message.request.sdiag_protocol = protocol;
    message.request.idiag_states = states;
    pWalk->delivered = 0U;
    return netlinkDump(pWalk->pSource, NETLINK_SOCK_DIAG, &message.header, onDiagMessage, pWalk,
                       &pWalk->delivered);
}

/**
 * @brief Finds an attribute in a run of rtattr.
 * @param[in] pFirst First attribute.
 * @param[in] length Bytes of attributes.
 * @param[in] type Attribute type wanted.
 * @return The attribute, or NULL.
 */
static const struct rtattr *findAttribute(const struct rtattr *pFirst, size_t length,
                                          unsigned short type)
{
    const struct rtattr *pFound = NULL;
    const struct rtattr *pAttr = pFirst;
    unsigned int remaining = (unsigned int) length;

    for (; RTA_OK(pAttr, remaining) && (pFound == NULL); pAttr = nextAttribute(pAttr, &remaining))
    {
        if (pAttr->rta_type == type)
        {
            pFound = pAttr;
        }
    }
    return pFound;
}

/** @brief What an RTM_GETLINK dump is for. */
typedef struct LinkWalk
{
    DefenderLinuxSource_t *pSource; /**< The source. */
    DefenderMetricsSink_t *pSink;   /**< Counters go here (NULL: fill in address names). */
} LinkWalk_t;

/**
 * @brief RTM_NEWLINK handler: delivers the interface's counters, or names the addresses
 * of the address table that belong to it.
 * @param[in,out] pArg The LinkWalk_t.
 * @param[in] pMessage The message.
 */
static void onLinkMessage(void *pArg, const struct nlmsghdr *pMessage)
{
    LinkWalk_t *pWalk = (LinkWalk_t *) pArg;
    DefenderLinuxSource_t *pSource = pWalk->pSource;
    const struct ifinfomsg *pInfo = (const struct ifinfomsg *) messageData(pMessage);
    const struct rtattr *pName = NULL;
    size_t attrLength = 0U;

    if ((pMessage->nlmsg_type == RTM_NEWLINK) &&
        (pMessage->nlmsg_len >= NLMSG_LENGTH(sizeof(*pInfo))))
    {
        attrLength = pMessage->nlmsg_len - NLMSG_LENGTH(sizeof(*pInfo));
        pName = findAttribute(firstAttribute(pInfo, sizeof(*pInfo)), attrLength, IFLA_IFNAME);
    }
    if ((pName == NULL) || (RTA_PAYLOAD(pName) < 1U))
    {
        pSource->stats.malformedMessages++;
    }
    else if (pWalk->pSink == NULL)
    {
        size_t i;

        for (i = 0U; i < pSource->addressCount; i++)
        {
            if (pSource->addresses[i].ifIndex == (uint32_t) pInfo->ifi_index)
            {
                (void) copyName(pSource->addresses[i].name, (const char *) attributeData(pName),
                                RTA_PAYLOAD(pName));
            }
        }
    }
    else
    {
        DefenderInterfaceCounters_t counters;
        const struct rtattr *pStats64 =
            findAttribute(firstAttribute(pInfo, sizeof(*pInfo)), attrLength, IFLA_STATS64);
        const struct rtattr *pStats32 =
            findAttribute(firstAttribute(pInfo, sizeof(*pInfo)), attrLength, IFLA_STATS);
        bool valid;

        memset(&counters, 0, sizeof(counters));
        valid = copyName(counters.name, (const char *) attributeData(pName), RTA_PAYLOAD(pName));
        counters.isLoopback = ((pInfo->ifi_flags & IFF_LOOPBACK) != 0U);
        if ((pStats64 != NULL) && (RTA_PAYLOAD(pStats64) >= sizeof(struct rtnl_link_stats64)))
        {
            struct rtnl_link_stats64 stats;

            memcpy(&stats, attributeData(pStats64), sizeof(stats));
            counters.bytesIn = stats.rx_bytes;
            counters.bytesOut = stats.tx_bytes;
            counters.packetsIn = stats.rx_packets;
            counters.packetsOut = stats.tx_packets;
            counters.counterBits = 64U;
        }
        else if ((pStats32 != NULL) && (RTA_PAYLOAD(pStats32) >= sizeof(struct rtnl_link_stats)))
        {
            struct rtnl_link_stats stats;

            memcpy(&stats, attributeData(pStats32), sizeof(stats));
            counters.bytesIn = stats.rx_bytes;
            counters.bytesOut = stats.tx_bytes;
            counters.packetsIn = stats.rx_packets;
            counters.packetsOut = stats.tx_packets;
            counters.counterBits = 32U;
        }
        else
        {
            valid = false;
        }
        if (valid)
        {
            Defender_SinkAddInterface(pWalk->pSink, &counters);
        }
        else
        {
            pSource->stats.malformedMessages++;
        }
    }
}

/**
 * @brief Dumps the links (RTM_GETLINK).
 * @param[in,out] pSource The source.
 * @param[in] pSink Counters go here; NULL to name the address table's entries.
 * @param[in] pDelivered Entry counter for netlinkDump() (NULL: none).
 * @return As netlinkDump().
 */
static DumpResult_t linkDump(DefenderLinuxSource_t *pSource, DefenderMetricsSink_t *pSink,
                             const uint32_t *pDelivered)
{
    struct
    {
        struct nlmsghdr header;
        struct ifinfomsg info;
    } message;
    LinkWalk_t walk = {pSource, pSink};

    memset(&message, 0, sizeof(message));
    message.header.nlmsg_len = (uint32_t) sizeof(message);
    message.header.nlmsg_type = RTM_GETLINK;
    message.header.nlmsg_flags = (uint16_t) (NLM_F_REQUEST | NLM_F_DUMP);
    message.info.ifi_family = AF_UNSPEC;
    return netlinkDump(pSource, NETLINK_ROUTE, &message.header, onLinkMessage, &walk, pDelivered);
}

/**
 * @brief RTM_NEWADDR handler: adds the local address and its interface index to the table.
 * @param[in,out] pArg The source.
 * @param[in] pMessage The message.
 */
static void onAddressMessage(void *pArg, const struct nlmsghdr *pMessage)
{
    DefenderLinuxSource_t *pSource = (DefenderLinuxSource_t *) pArg;
    const struct ifaddrmsg *pInfo = (const struct ifaddrmsg *) messageData(pMessage);
    const struct rtattr *pAddr = NULL;

    if ((pMessage->nlmsg_type == RTM_NEWADDR) &&
        (pMessage->nlmsg_len >= NLMSG_LENGTH(sizeof(*pInfo))))
    {
        size_t attrLength = pMessage->nlmsg_len - NLMSG_LENGTH(sizeof(*pInfo));

        pAddr = findAttribute(firstAttribute(pInfo, sizeof(*pInfo)), attrLength, IFA_LOCAL);
        if (pAddr == NULL)
        {
            pAddr = findAttribute(firstAttribute(pInfo, sizeof(*pInfo)), attrLength, IFA_ADDRESS);
        }
    }
    if (pAddr == NULL)
    {
        pSource->stats.malformedMessages++;
    }
    else
    {
        DefenderIpAddress_t address;
        size_t length = (pInfo->ifa_family == AF_INET) ? 4U : 16U;

        memset(&address, 0, sizeof(address));
        address.family = (pInfo->ifa_family == AF_INET) ? 4U : 6U;
        if (((pInfo->ifa_family == AF_INET) || (pInfo->ifa_family == AF_INET6)) &&
            (RTA_PAYLOAD(pAddr) >= length))
        {
            memcpy(address.bytes, attributeData(pAddr), length);
            normaliseAddress(&address);
            addAddress(pSource, &address, NULL, pInfo->ifa_index);
        }
    }
}

/**
 * @brief Builds the address table with rtnetlink (RTM_GETADDR, then RTM_GETLINK for names).
 * @param[in,out] pSource The source.
 * @return true on success.
 */
static bool addressTableNetlink(DefenderLinuxSource_t *pSource)
{
    struct
    {
        struct nlmsghdr header;
        struct ifaddrmsg info;
    } message;
    bool ok;

    memset(&message, 0, sizeof(message));
    message.header.nlmsg_len = (uint32_t) sizeof(message);
    message.header.nlmsg_type = RTM_GETADDR;
    message.header.nlmsg_flags = (uint16_t) (NLM_F_REQUEST | NLM_F_DUMP);
    message.info.ifa_family = AF_UNSPEC;
    ok = (netlinkDump(pSource, NETLINK_ROUTE, &message.header, onAddressMessage, pSource, NULL) ==
          DUMP_OK);
    ok = ok && (linkDump(pSource, NULL, NULL) == DUMP_OK);
    return ok;
}

/*-----------------------------------------------------------------------------------------*/
/* /proc                                                                                   */
/*-----------------------------------------------------------------------------------------*/

/**
 * @brief Streams a proc file line by line through the source's buffers.
 * @param[in,out] pSource The source.
 * @param[in] pRelative Path below the proc root ("net/tcp").
 * @param[in] headerLines Leading lines to skip.
 * @param[in] handler Called per line.
 * @param[in] pArg Passed to the handler.
 * @return true when the file was opened and read to its end.
 */
static bool readLines(DefenderLinuxSource_t *pSource, const char *pRelative, size_t headerLines,
                      LineHandler_t handler, void *pArg)
{
    char path[DEFENDER_LINUX_PROC_ROOT_SIZE + 32U];
    size_t lineLength = 0U;
    size_t lineNumber = 0U;
    bool overlong = false;
    bool ok = false;
    int fd = -1;

    if (snprintf(path, sizeof(path), "%s/%s", pSource->procRoot, pRelative) < (int) sizeof(path))
    {
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    while (fd >= 0)
    {
        ssize_t got = read(fd, pSource->buffer.bytes, sizeof(pSource->buffer.bytes));
        size_t i;

        if ((got < 0) && (errno == EINTR))
        {
            continue;
        }
        if (got <= 0)
        {
            ok = (got == 0);
            /* A last line without a newline still counts. */
            if (ok && ((lineLength > 0U) || overlong))
            {
                pSource->buffer.bytes[0] = (uint8_t) '\n';
                got = 1;
            }
            else
            {
                break;
            }
        }
        for (i = 0U; i < (size_t) got; i++)
        {
            char c = (char) pSource->buffer.bytes[i];

            if (c != '\n')
            {
                if (lineLength < (sizeof(pSource->line) - 1U))
                {
                    pSource->line[lineLength] = c;
                    lineLength++;
                }
                else
                {
                    overlong = true;
                }
            }
            else
            {
                pSource->line[lineLength] = '\0';
                if (lineNumber >= headerLines)
                {
                    if (overlong || !handler(pArg, pSource->line, lineLength))
                    {
                        pSource->stats.malformedLines++;
                    }
                }
                lineNumber++;
                lineLength = 0U;
                overlong = false;
            }
        }
        if (ok)
        {
            break;
        }
    }
    if (fd >= 0)
    {
        (void) close(fd);
    }
    return ok;
}

/**
 * @brief Value of a hex digit.
 * @param[in] c The character.
 * @return 0..15, or -1 when not a hex digit.
 */
static int hexValue(char c)
{
    int value = -1;

    if ((c >= '0') && (c <= '9'))
    {
        value = c - '0';
    }
    else if ((c >= 'A') && (c <= 'F'))
    {
        value = c - 'A' + 10;
    }
    else if ((c >= 'a') && (c <= 'f'))
    {
        value = c - 'a' + 10;
    }
    return value;
}

/**
 * @brief Parses exactly `digits` hex digits.
 * @param[in,out] ppCursor Position; advanced past the digits.
 * @param[in] digits How many (1..8).
 * @param[out] pValue The value.
 * @return true when all were hex digits.
 */
static bool parseHex(const char **ppCursor, size_t digits, uint32_t *pValue)
{
    uint32_t value = 0U;
    bool ok = true;
    size_t i;

    for (i = 0U; (i < digits) && ok; i++)
    {
        int digit = hexValue((*ppCursor)[i]);

        ok = (digit >= 0);
        value = (value << 4U) | (uint32_t) (ok ? digit : 0);
    }
    if (ok)
    {
        *ppCursor += digits;
        *pValue = value;
    }
    return ok;
}

/**
 * @brief Parses `ADDR:PORT` of /proc/net/{tcp,udp}[6]: the address as 32-bit words
 * printed in host order (%08X of the network-order word), the port as 4 hex digits.
 * @param[in,out] ppCursor Position; advanced past the field.
 * @param[in] family 4 or 6.
 * @param[out] pAddress The address.
 * @param[out] pPort The port.
 * @return true when well formed.
 */
static bool parseEndpoint(const char **ppCursor, uint8_t family, DefenderIpAddress_t *pAddress,
                          uint16_t *pPort)
{
    size_t words = (family == 4U) ? 1U : 4U;
    uint32_t value = 0U;
    bool ok = true;
    size_t i;

    pAddress->family = family;
    for (i = 0U; (i < words) && ok; i++)
    {
        ok = parseHex(ppCursor, 8U, &value);
        memcpy(&pAddress->bytes[i * 4U], &value, 4U);
    }
    ok = ok && (**ppCursor == ':');
    if (ok)
    {
        (*ppCursor)++;
        ok = parseHex(ppCursor, 4U, &value);
        *pPort = (uint16_t) value;
    }
    ok = ok && ((**ppCursor == ' ') || (**ppCursor == '\t'));
    return ok;
}

/**
 * @brief Skips blanks.
 * @param[in] pCursor Position.
 * @return First non-blank.
 */
static const char *skipBlanks(const char *pCursor)
{
    while ((*pCursor == ' ') || (*pCursor == '\t'))
    {
        pCursor++;
    }
    return pCursor;
}

/** @brief A /proc socket file being read. */
typedef struct ProcSocketFile
{
    SocketWalk_t *pWalk; /**< The collection. */
    uint8_t family;      /**< 4 or 6. */
} ProcSocketFile_t;

/**
 * @brief Parses one line of /proc/net/{tcp,udp}[6]: `sl: local remote st ...`.
 * @param[in,out] pArg The ProcSocketFile_t.
 * @param[in] pLine The line (NUL-terminated).
 * @param[in] length Its length.
 * @return false when malformed.
 */
static bool onSocketLine(void *pArg, const char *pLine, size_t length)
{
    ProcSocketFile_t *pFile = (ProcSocketFile_t *) pArg;
    const char *pCursor = skipBlanks(pLine);
    SocketEntry_t entry;
    uint32_t state = 0U;
    bool ok;

    (void) length;
    memset(&entry, 0, sizeof(entry));
    while ((*pCursor >= '0') && (*pCursor <= '9'))
    {
        pCursor++;
    }
    ok = (pCursor != skipBlanks(pLine)) && (*pCursor == ':');
    if (ok)
    {
        pCursor = skipBlanks(pCursor + 1);
        ok = parseEndpoint(&pCursor, pFile->family, &entry.local, &entry.localPort);
    }
    if (ok)
    {
        pCursor = skipBlanks(pCursor);
        ok = parseEndpoint(&pCursor, pFile->family, &entry.remote, &entry.remotePort);
    }
    if (ok)
    {
        pCursor = skipBlanks(pCursor);
        ok = parseHex(&pCursor, 2U, &state) && ((*pCursor == ' ') || (*pCursor == '\0'));
    }
    if (ok)
    {
        entry.state = state;
        deliverSocket(pFile->pWalk, &entry);
    }
    return ok;
}

/**
 * @brief Parses one line of /proc/net/if_inet6: `addr32hex ifindex plen scope flags name`.
 * @param[in,out] pArg The source.
 * @param[in] pLine The line.
 * @param[in] length Its length.
 * @return false when malformed.
 */
static bool onInet6Line(void *pArg, const char *pLine, size_t length)
{
    DefenderLinuxSource_t *pSource = (DefenderLinuxSource_t *) pArg;
    DefenderIpAddress_t address;
    const char *pCursor = pLine;
    uint32_t value = 0U;
    bool ok = true;
    size_t i;
    size_t field;

    memset(&address, 0, sizeof(address));
    address.family = 6U;
    for (i = 0U; (i < 16U) && ok; i++)
    {
        ok = parseHex(&pCursor, 2U, &value);
        address.bytes[i] = (uint8_t) value;
    }
    /* Skip ifindex, prefix length, scope and flags. */
    for (field = 0U; (field < 4U) && ok; field++)
    {
        const char *pStart = skipBlanks(pCursor);

        pCursor = pStart;
        while (hexValue(*pCursor) >= 0)
        {
            pCursor++;
        }
        ok = (pCursor != pStart) && ((*pCursor == ' ') || (*pCursor == '\t'));
    }
    if (ok)
    {
        pCursor = skipBlanks(pCursor);
        ok = (*pCursor != '\0');
    }
    if (ok)
    {
        normaliseAddress(&address);
        addAddress(pSource, &address, pCursor, 0U);
    }
    (void) length;
    return ok;
}

/**
 * @brief Builds the address table without netlink: IPv4 from SIOCGIFCONF, IPv6 from
 * /proc/net/if_inet6 (absent when the host has no IPv6).
 * @param[in,out] pSource The source.
 * @return true when the IPv4 addresses could be listed.
 */
static bool addressTableProc(DefenderLinuxSource_t *pSource)
{
    struct ifconf config;
    bool ok = false;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    config.ifc_len = (int) sizeof(pSource->buffer.bytes);
    config.ifc_buf = (char *) pSource->buffer.bytes;
    if ((fd >= 0) && (ioctl(fd, SIOCGIFCONF, &config) == 0))
    {
        size_t count = (size_t) config.ifc_len / sizeof(struct ifreq);
        size_t i;

        ok = true;
        for (i = 0U; i < count; i++)
        {
            struct ifreq request;
            struct sockaddr_in address4;

            memcpy(&request, &pSource->buffer.bytes[i * sizeof(struct ifreq)], sizeof(request));
            memcpy(&address4, &request.ifr_addr, sizeof(address4));
            if (address4.sin_family == AF_INET)
            {
                DefenderIpAddress_t address;
                char name[IFNAMSIZ + 1];

                memset(&address, 0, sizeof(address));
                address.family = 4U;
                memcpy(address.bytes, &address4.sin_addr, 4U);
                memcpy(name, request.ifr_name, IFNAMSIZ);
                name[IFNAMSIZ] = '\0';
                addAddress(pSource, &address, name, 0U);
            }
        }
    }
    if (fd >= 0)
    {
        (void) close(fd);
    }
    (void) readLines(pSource, "net/if_inet6", 0U, onInet6Line, pSource);
    return ok;
}

/**
 * @brief Builds the address table of this collection (netlink first when enabled).
 * @param[in,out] pSource The source.
 */
static void buildAddressTable(DefenderLinuxSource_t *pSource)
{
    bool ok = false;

    pSource->addressCount = 0U;
    if (pSource->useNetlink)
    {
        ok = addressTableNetlink(pSource);
        if (!ok)
        {
            pSource->addressCount = 0U;
        }
    }
    if (!ok)
    {
        (void) addressTableProc(pSource);
    }
    findLoopbackName(pSource);
}

/** @brief A /proc/net/dev read. */
typedef struct ProcDevFile
{
    DefenderLinuxSource_t *pSource; /**< The source. */
    DefenderMetricsSink_t *pSink;   /**< Where counters go. */
    int fd;                         /**< Socket for SIOCGIFFLAGS (-1: none). */
} ProcDevFile_t;

/**
 * @brief Parses an unsigned decimal number followed by a blank or the end.
 * @param[in,out] ppCursor Position (blanks before the number skipped); advanced.
 * @param[out] pValue The value.
 * @return true when well formed and within 64 bits.
 */
static bool parseDecimal(const char **ppCursor, uint64_t *pValue)
{
    const char *pCursor = skipBlanks(*ppCursor);
    const char *pStart = pCursor;
    uint64_t value = 0U;
    bool ok = true;

    while (ok && (*pCursor >= '0') && (*pCursor <= '9'))
    {
        uint64_t digit = (uint64_t) (*pCursor - '0');

        ok = (value <= ((UINT64_MAX - digit) / 10U));
        value = (value * 10U) + digit;
        pCursor++;
    }
    ok = ok && (pCursor != pStart) &&
         ((*pCursor == ' ') || (*pCursor == '\t') || (*pCursor == '\0'));
    if (ok)
    {
        *ppCursor = pCursor;
        *pValue = value;
    }
    return ok;
}

/**
 * @brief Parses one /proc/net/dev line: `name: rxbytes rxpackets 6 more, txbytes txpackets ...`.
 * @param[in,out] pArg The ProcDevFile_t.
 * @param[in] pLine The line.
 * @param[in] length Its length.
 * @return false when malformed.
 */
static bool onDevLine(void *pArg, const char *pLine, size_t length)
{
    ProcDevFile_t *pFile = (ProcDevFile_t *) pArg;
    const char *pName = skipBlanks(pLine);
    const char *pColon = strchr(pName, ':');
    DefenderInterfaceCounters_t counters;
    uint64_t values[10];
    bool ok;
    size_t i;

    (void) length;
    memset(&counters, 0, sizeof(counters));
    ok = (pColon != NULL) && copyName(counters.name, pName, (size_t) (pColon - pName));
    /* The name must run up to the colon (no alias part, no blank inside). */
    ok = ok && (strlen(counters.name) == (size_t) (pColon - pName)) &&
         (strpbrk(counters.name, " \t") == NULL);
    if (ok)
    {
        const char *pCursor = pColon + 1;

        for (i = 0U; (i < 10U) && ok; i++)
        {
            ok = parseDecimal(&pCursor, &values[i]);
        }
    }
    if (ok)
    {
        struct ifreq request;
        size_t nameLength = strlen(counters.name);

        counters.bytesIn = values[0];
        counters.packetsIn = values[1];
        counters.bytesOut = values[8];
        counters.packetsOut = values[9];
        counters.counterBits = 64U;
        memset(&request, 0, sizeof(request));
        if (nameLength < IFNAMSIZ)
        {
            memcpy(request.ifr_name, counters.name, nameLength);
        }
        if ((pFile->fd >= 0) && (nameLength < IFNAMSIZ) &&
            (ioctl(pFile->fd, SIOCGIFFLAGS, &request) == 0))
        {
            counters.isLoopback = ((request.ifr_flags & IFF_LOOPBACK) != 0);
        }
        else
        {
            counters.isLoopback = (strcmp(counters.name, "lo") == 0);
        }
        Defender_SinkAddInterface(pFile->pSink, &counters);
    }
    return ok;
}

/*-----------------------------------------------------------------------------------------*/
/* Collection                                                                              */
/*-----------------------------------------------------------------------------------------*/

/**
 * @brief Collects the sockets of one group: per family, sock_diag (when enabled) or the
 * /proc file when netlink is refused.
 * @param[in,out] pSource The source.
 * @param[in] group The group.
 * @param[in] pSink Where entries go.
 * @return DEFENDER_SOURCE_OK or DEFENDER_SOURCE_ERROR.
 */
static DefenderSourceStatus_t collectSockets(DefenderLinuxSource_t *pSource,
                                             DefenderMetricGroup_t group,
                                             DefenderMetricsSink_t *pSink)
{
    static const char *const tcpFiles[2] = {"net/tcp", "net/tcp6"};
    static const char *const udpFiles[2] = {"net/udp", "net/udp6"};
    static const uint8_t families[2] = {AF_INET, AF_INET6};
    DefenderSourceStatus_t status = DEFENDER_SOURCE_OK;
    SocketWalk_t walk = {pSource, group, pSink, 0U};
    bool udp = (group == DEFENDER_METRIC_LISTENING_UDP_PORTS);
    uint32_t states;
    bool fellBack = false;
    size_t i;

    if (group == DEFENDER_METRIC_TCP_CONNECTIONS)
    {
        states = 1U << LINUX_STATE_ESTABLISHED;
    }
    else if (udp)
    {
        states = 1U << LINUX_STATE_CLOSE;
    }
    else
    {
        states = 1U << LINUX_STATE_LISTEN;
    }
    buildAddressTable(pSource);
    pSource->slotCount = 0U;

    for (i = 0U; (i < 2U) && (status == DEFENDER_SOURCE_OK); i++)
    {
        DumpResult_t result = DUMP_REFUSED;

        if (pSource->useNetlink)
        {
            result = diagDump(&walk, families[i], udp ? IPPROTO_UDP : IPPROTO_TCP, states);
        }
        if (result == DUMP_FAILED)
        {
            status = DEFENDER_SOURCE_ERROR;
        }
        else if (result == DUMP_REFUSED)
        {
            ProcSocketFile_t file = {&walk, (i == 0U) ? 4U : 6U};

            fellBack = fellBack || pSource->useNetlink;
            /* Without IPv6 the kernel has no tcp6/udp6 file: that is no error. */
            if (!readLines(pSource, udp ? udpFiles[i] : tcpFiles[i], 1U, onSocketLine, &file) &&
                (i == 0U))
            {
                status = DEFENDER_SOURCE_ERROR;
            }
        }
        else
        {
            /* Streamed through netlink. */
        }
    }
    if (fellBack)
    {
        pSource->stats.netlinkFallbacks++;
    }
    return status;
}

/**
 * @brief Collects the interface counters: RTM_GETLINK, or /proc/net/dev when refused.
 * @param[in,out] pSource The source.
 * @param[in] pSink Where counters go.
 * @return DEFENDER_SOURCE_OK or DEFENDER_SOURCE_ERROR.
 */
static DefenderSourceStatus_t collectInterfaces(DefenderLinuxSource_t *pSource,
                                                DefenderMetricsSink_t *pSink)
{
    DefenderSourceStatus_t status = DEFENDER_SOURCE_OK;
    DumpResult_t result = DUMP_REFUSED;

    if (pSource->useNetlink)
    {
        /* The sink counts what it received; a failure after delivery cannot fall back. */
        static const uint32_t delivered = 1U;

        result = linkDump(pSource, pSink, &delivered);
        if (result == DUMP_FAILED)
        {
            status = DEFENDER_SOURCE_ERROR;
        }
    }
    if (result == DUMP_REFUSED)
    {
        ProcDevFile_t file = {pSource, pSink, socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};

        if (pSource->useNetlink)
        {
            pSource->stats.netlinkFallbacks++;
        }
        if (!readLines(pSource, "net/dev", 2U, onDevLine, &file))
        {
            status = DEFENDER_SOURCE_ERROR;
        }
        if (file.fd >= 0)
        {
            (void) close(file.fd);
        }
    }
    return status;
}

/*-----------------------------------------------------------------------------------------*/
/* Public functions                                                                        */
/*-----------------------------------------------------------------------------------------*/

DefenderStatus_t DefenderLinux_SourceInit(DefenderLinuxSource_t *pSource,
                                          const DefenderLinuxSourceOptions_t *pOptions)
{
    DefenderStatus_t status = DEFENDER_BAD_PARAMETER;
    const char *pRoot = "/proc";
    bool useNetlink = true;

    if (pOptions != NULL)
    {
        useNetlink = pOptions->useNetlink;
        if (pOptions->pProcRoot != NULL)
        {
            pRoot = pOptions->pProcRoot;
        }
    }
    if ((pSource != NULL) && (strlen(pRoot) < DEFENDER_LINUX_PROC_ROOT_SIZE))
    {
        memset(pSource, 0, sizeof(*pSource));
        pSource->useNetlink = useNetlink;
        (void) strcpy(pSource->procRoot, pRoot);
        (void) strcpy(pSource->loopbackName, "lo");
        status = DEFENDER_SUCCESS;
    }
    return status;
}

void DefenderLinux_SourceGet(DefenderLinuxSource_t *pSource, DefenderMetricsSource_t *pInterface)
{
    if ((pSource != NULL) && (pInterface != NULL))
    {
        pInterface->pContext = pSource;
        pInterface->pfCollect = DefenderLinux_Collect;
    }
}

DefenderSourceStatus_t DefenderLinux_Collect(void *pContext, DefenderMetricGroup_t group,
                                             DefenderMetricsSink_t *pSink)
{
    DefenderLinuxSource_t *pSource = (DefenderLinuxSource_t *) pContext;
    DefenderSourceStatus_t status = DEFENDER_SOURCE_ERROR;

    if ((pSource == NULL) || (pSink == NULL))
    {
        /* Nothing can be collected. */
    }
    else if ((group == DEFENDER_METRIC_TCP_CONNECTIONS) ||
             (group == DEFENDER_METRIC_LISTENING_TCP_PORTS) ||
             (group == DEFENDER_METRIC_LISTENING_UDP_PORTS))
    {
        pSource->stats.collections++;
        status = collectSockets(pSource, group, pSink);
    }
    else if (group == DEFENDER_METRIC_NETWORK_STATS)
    {
        pSource->stats.collections++;
        status = collectInterfaces(pSource, pSink);
    }
    else
    {
        status = DEFENDER_SOURCE_UNSUPPORTED;
    }
    return status;
}

DefenderStatus_t DefenderLinux_SourceGetStats(const DefenderLinuxSource_t *pSource,
                                              DefenderLinuxSourceStats_t *pStats)
{
    DefenderStatus_t status = DEFENDER_BAD_PARAMETER;

    if ((pSource != NULL) && (pStats != NULL))
    {
        *pStats = pSource->stats;
        status = DEFENDER_SUCCESS;
    }
    return status;
}

void DefenderLinux_SourceDeinit(DefenderLinuxSource_t *pSource)
{
    if (pSource != NULL)
    {
        memset(pSource, 0, sizeof(*pSource));
    }
}
