// The peer of bench/sim: ns-3 (Debian's libns3-dev) doing the work mpx-sim does for its `tcp`
// signal: N request/response TCP connections one after the other (100 bytes up, 1000 down,
// then close; the next one GAP ms after the previous one's response), client -- dsl (20 Mbit/s
// down, 2 Mbit/s up, 10 ms, 100-packet drop-tail) -- hag -- wan (1 Gbit/s, 5 ms) -- server,
// as tests/data/sim/hybrid-base (jitter and LTE left out: a single-path TCP connection). Prints
// the connections completed and their mean TTFB, so the two runs can be seen to agree.
// usage: ns3-rr N [GAP_MS]
#include <cstdio>
#include <cstdlib>
#include <map>

#include "ns3/core-module.h"
#include "ns3/internet-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"

using namespace ns3;

static uint32_t g_n, g_done;
static double g_gap_ms, g_ttfb_sum;
static Ptr<Node> g_client;
static Ipv4Address g_server;
static Time g_start;
static std::map<Ptr<Socket>, uint32_t> g_got;

static void StartConn();

static void ClientConnected(Ptr<Socket> s)
{
    uint8_t req[100] = { 0 };
    s->Send(req, sizeof req, 0);
}

static void ClientRecv(Ptr<Socket> s)
{
    Ptr<Packet> p;
    while ((p = s->Recv())) {
        if (!g_got[s]) g_ttfb_sum += (Simulator::Now() - g_start).GetSeconds() * 1e3;
        g_got[s] += p->GetSize();
    }
    if (g_got[s] >= 1000) {
        g_got.erase(s);
        s->Close();
        if (++g_done < g_n) Simulator::Schedule(MilliSeconds(g_gap_ms), &StartConn);
    }
}

static void StartConn()
{
    Ptr<Socket> s = Socket::CreateSocket(g_client, TcpSocketFactory::GetTypeId());
    s->SetConnectCallback(MakeCallback(&ClientConnected), MakeNullCallback<void, Ptr<Socket>>());
    s->SetRecvCallback(MakeCallback(&ClientRecv));
    g_start = Simulator::Now();
    s->Connect(InetSocketAddress(g_server, 8080));
}

static void ServerRecv(Ptr<Socket> s)
{
    Ptr<Packet> p;
    while ((p = s->Recv())) g_got[s] += p->GetSize();
    if (g_got[s] >= 100 && g_got[s] < 1u << 30) {
        g_got[s] = 1u << 30; // answered
        uint8_t resp[1000] = { 0 };
        s->Send(resp, sizeof resp, 0);
    }
}

static void ServerClosed(Ptr<Socket> s)
{
    g_got.erase(s);
    s->Close();
}

static void ServerAccept(Ptr<Socket> s, const Address &)
{
    s->SetRecvCallback(MakeCallback(&ServerRecv));
    s->SetCloseCallbacks(MakeCallback(&ServerClosed), MakeCallback(&ServerClosed));
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: ns3-rr N [GAP_MS]\n");
        return 2;
    }
    g_n = (uint32_t)std::strtoul(argv[1], nullptr, 10);
    g_gap_ms = argc > 2 ? std::atof(argv[2]) : 20;
    Config::SetDefault("ns3::TcpSocket::SegmentSize", UintegerValue(1448));
    NodeContainer n;
    n.Create(3); // client, hag, server
    g_client = n.Get(0);
    PointToPointHelper dsl, wan;
    dsl.SetChannelAttribute("Delay", StringValue("10ms"));
    dsl.SetQueue("ns3::DropTailQueue", "MaxSize", StringValue("100p"));
    wan.SetDeviceAttribute("DataRate", StringValue("1Gbps"));
    wan.SetChannelAttribute("Delay", StringValue("5ms"));
    wan.SetQueue("ns3::DropTailQueue", "MaxSize", StringValue("1000p"));
    NetDeviceContainer d1 = dsl.Install(n.Get(0), n.Get(1)), d2 = wan.Install(n.Get(1), n.Get(2));
    d1.Get(0)->SetAttribute("DataRate", StringValue("2Mbps"));  // client -> hag
    d1.Get(1)->SetAttribute("DataRate", StringValue("20Mbps")); // hag -> client
    InternetStackHelper stack;
    stack.Install(n);
    Ipv4AddressHelper a;
    a.SetBase("198.18.1.0", "255.255.255.0");
    a.Assign(d1);
    a.SetBase("198.18.3.0", "255.255.255.0");
    Ipv4InterfaceContainer i2 = a.Assign(d2);
    g_server = i2.GetAddress(1);
    Ipv4GlobalRoutingHelper::PopulateRoutingTables();
    Ptr<Socket> lis = Socket::CreateSocket(n.Get(2), TcpSocketFactory::GetTypeId());
    lis->Bind(InetSocketAddress(Ipv4Address::GetAny(), 8080));
    lis->Listen();
    lis->SetAcceptCallback(MakeNullCallback<bool, Ptr<Socket>, const Address &>(),
                           MakeCallback(&ServerAccept));
    Simulator::Schedule(Seconds(0), &StartConn);
    Simulator::Run();
    Simulator::Destroy();
    std::printf("ns3-rr: %u connections, mean TTFB %.3f ms\n", g_done, g_done ? g_ttfb_sum / g_done : 0.0);
    return g_done == g_n ? 0 : 1;
}
