// A loopback MTProto test server for the Telegram account tests: gotd/td's tgtest does the
// transport, the key exchange (RSA_PAD with a key made at start) and the encrypted
// session; this file answers the handful of API methods the account client calls, in the
// TL layer GramJS speaks (198: constructors are built by hand, gotd's own tg types are for
// an older layer). One account (phone, login code, optional 2FA password checked by SRP
// as Telegram does), private and group messages pushed to the connected client, and what
// the client sent recorded. It listens on 127.0.0.1 only; the harness controls it through
// a small HTTP API on another loopback port and reads its first stdout line:
// {"port":…,"control":…,"publicKey":"-----BEGIN RSA PUBLIC KEY-----…"}.
package main

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/gotd/td/bin"
	"github.com/gotd/td/tgerr"
	"github.com/gotd/td/tgtest"
	"github.com/gotd/td/transport"
)

// TL constructor ids of layer 198 (GramJS 2.26's telegram/tl/apiTl.js).
const (
	idHelpGetConfig       = 0xc4f9186b
	idAuthSendCode        = 0xa677244f
	idAuthSignIn          = 0x8d52a951
	idAuthCheckPassword   = 0xd18b4d16
	idAuthLogOut          = 0x3e72ba19
	idAccountGetPassword  = 0x548a30f5
	idUsersGetUsers       = 0x0d91a548
	idUpdatesGetState     = 0xedd4882a
	idUpdatesGetDiff      = 0x19c2f763
	idSendMessage         = 0x983f9745
	idSendMedia           = 0x7852834e
	idEditMessage         = 0xdfd14005
	idSetTyping           = 0x58943ee2
	idMsgsAck             = 0x62d6b459
	idInputPeerUser       = 0xdde8a54c
	idInputPeerChat       = 0x35a95cb9
	idInputPeerSelf       = 0x7da07ec9
	idInputReplyToMessage = 0x22c0f6d5
	idInputCheckPassword  = 0xd27ff082
	idMediaPhotoExternal  = 0xe5bbfe1a
	idMediaDocExternal    = 0x779600f9
	idTypingAction        = 0x16bf744e

	idConfig            = 0xcc1a241e
	idDcOption          = 0x18b7a10d
	idUser              = 0x4b46c37e
	idAuthAuthorization = 0x2ea2c0d4
	idSentCode          = 0x5e002502
	idSentCodeTypeApp   = 0x3dbb5986
	idAccountPassword   = 0x957b50fb
	idKdfAlgo           = 0x3a912d4a
	idSecureKdfUnknown  = 0x004a8537
	idAuthLoggedOut     = 0xc3a2835f
	idUpdatesState      = 0xa56c2a3e
	idDifferenceEmpty   = 0x5d75a138
	idShortSentMessage  = 0x9015e101
	idUpdates           = 0x74ae4240
	idUpdateNewMessage  = 0x1f2b0afd
	idUpdateEditMessage = 0xe40370a3
	idUpdateMessageID   = 0x4e90bfd6
	idMessage           = 0x96fdbbe9
	idPeerUser          = 0x59511722
	idPeerChat          = 0x36c6019a
	idChat              = 0x41cbf256
	idChatPhotoEmpty    = 0x37c1011c
	idReplyHeader       = 0xafbc09db
	idMediaEmpty        = 0x3ded6320
	idBoolTrue          = 0x997275b5
	idBoolFalse         = 0xbc799737
	idVector            = 0x1cb5c415
)

// Telegram's 2048-bit SRP prime (g = 3), the one GramJS recognises without a primality test.
const srpPrimeHex = "c71caeb9c6b1c9048e6c522f70f13f73980d40238e3e21c14934d037563d930f48198a0aa7c14058229493d22530f4dbfa336f6e0ac925139543aed44cce7c3720fd51f69458705ac68cd4fe6b6b13abdc9746512969328454f18faf8c595f642477fe96bb2a941d5bcd1d4ac8cc49880708fa9b378e3c4f3a9060bee67cf9a4a4a695811051907e162753b56b0f6b410dba74d8a84b2a14b3144e0ef1284754fd17ed950d5965b4b9dd46582db1178d169c6bc465b0d6ff9ca3928fef5b9ae4e418fc15e83ebea0f87fa9ff5eed70050ded2849f47bf959d956850ce929851f0d8115f635b105ee2e4e15d04b2454bf6f4fadf034b10403119cd8e3b92fcc5b"

type userInfo struct {
	ID        int64  `json:"id"`
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
	Username  string `json:"username,omitempty"`
	LangCode  string `json:"langCode,omitempty"`
}

type entity struct {
	Type   string `json:"type"`
	Offset int32  `json:"offset"`
	Length int32  `json:"length"`
	URL    string `json:"url,omitempty"`
}

// sent is one call of the client that reached a chat, as the tests read it.
type sent struct {
	Method   string   `json:"method"`
	Peer     string   `json:"peer"`
	ID       int32    `json:"id,omitempty"`
	Text     string   `json:"text,omitempty"`
	ReplyTo  int32    `json:"replyTo,omitempty"`
	Entities []entity `json:"entities,omitempty"`
	Media    string   `json:"media,omitempty"`
	URL      string   `json:"url,omitempty"`
	NoPreview bool    `json:"noPreview,omitempty"`
}

type srpState struct {
	salt1, salt2 []byte
	v            *big.Int
	b, B         *big.Int
	id           int64
}

type state struct {
	mu         sync.Mutex
	srv        *tgtest.Server
	phone      string
	code       string
	password   string
	srp        *srpState
	me         userInfo
	codeHashes map[string]bool // hash → expired
	authorized map[[8]byte]bool
	awaiting   map[[8]byte]bool // signed in with the code, waiting for the 2FA password
	sessions   map[[8]byte]tgtest.Session
	flood      map[string]int // method → FLOOD_WAIT seconds of its next call
	sent       []sent
	msgID      int32
	pts        int
	sendCodes  int
	logOuts    int
}

func (s *state) nextID() int32 { s.msgID++; return s.msgID }

// --- encoding helpers --------------------------------------------------------

func putUser(b *bin.Buffer, u userInfo, self bool, phone string) {
	var flags uint32 = 1 << 0 // access_hash
	if self {
		flags |= 1 << 10
	}
	if u.FirstName != "" {
		flags |= 1 << 1
	}
	if u.LastName != "" {
		flags |= 1 << 2
	}
	if u.Username != "" {
		flags |= 1 << 3
	}
	if phone != "" {
		flags |= 1 << 4
	}
	if u.LangCode != "" {
		flags |= 1 << 22
	}
	b.PutID(idUser)
	b.PutUint32(flags)
	b.PutUint32(0) // flags2
	b.PutLong(u.ID)
	b.PutLong(u.ID*7 + 1) // access_hash
	if u.FirstName != "" {
		b.PutString(u.FirstName)
	}
	if u.LastName != "" {
		b.PutString(u.LastName)
	}
	if u.Username != "" {
		b.PutString(u.Username)
	}
	if phone != "" {
		b.PutString(phone)
	}
	if u.LangCode != "" {
		b.PutString(u.LangCode)
	}
}

type rawEncoder func(b *bin.Buffer)

func (r rawEncoder) Encode(b *bin.Buffer) error { r(b); return nil }

func putKdfAlgo(b *bin.Buffer, salt1, salt2 []byte) {
	p, _ := hex.DecodeString(srpPrimeHex)
	b.PutID(idKdfAlgo)
	b.PutBytes(salt1)
	b.PutBytes(salt2)
	b.PutInt32(3)
	b.PutBytes(p)
}

func putPeer(b *bin.Buffer, peer string) {
	var id int64
	if len(peer) > 0 && peer[0] == '-' {
		fmt.Sscan(peer[1:], &id)
		b.PutID(idPeerChat)
	} else {
		fmt.Sscan(peer, &id)
		b.PutID(idPeerUser)
	}
	b.PutLong(id)
}

// putMessage writes a message#96fdbbe9 with the fields the tests use.
func putMessage(b *bin.Buffer, id int32, out bool, from int64, peer string, replyTo int32, date int32, text string, editDate int32) {
	var flags uint32
	if out {
		flags |= 1 << 1
	}
	if from != 0 {
		flags |= 1 << 8
	}
	if replyTo != 0 {
		flags |= 1 << 3
	}
	if editDate != 0 {
		flags |= 1 << 15
	}
	b.PutID(idMessage)
	b.PutUint32(flags)
	b.PutUint32(0)
	b.PutInt32(id)
	if from != 0 {
		b.PutID(idPeerUser)
		b.PutLong(from)
	}
	putPeer(b, peer)
	if replyTo != 0 {
		b.PutID(idReplyHeader)
		b.PutUint32(1 << 4)
		b.PutInt32(replyTo)
	}
	b.PutInt32(date)
	b.PutString(text)
	if editDate != 0 {
		b.PutInt32(editDate)
	}
}

// --- decoding helpers --------------------------------------------------------

func readPeer(b *bin.Buffer, me int64) (string, error) {
	id, err := b.ID()
	if err != nil {
		return "", err
	}
	switch id {
	case idInputPeerUser:
		uid, _ := b.Long()
		hash, err := b.Long()
		if err != nil {
			return "", err
		}
		// As Telegram does: a user is addressed by the access hash it was given with (putUser's).
		if hash != uid*7+1 {
			return "", fmt.Errorf("access hash %d is not user %d's", hash, uid)
		}
		return fmt.Sprint(uid), nil
	case idInputPeerChat:
		cid, err := b.Long()
		return fmt.Sprintf("-%d", cid), err
	case idInputPeerSelf:
		return fmt.Sprint(me), nil
	}
	return "", fmt.Errorf("input peer %#x not served", id)
}

var entityNames = map[uint32]string{
	0xbd610bc9: "bold", 0x826f8b60: "italic", 0x28a20571: "code", 0x9c4e7e8b: "underline",
	0xbf0693d4: "strikethrough", 0x32ca960f: "spoiler", 0x6ed02538: "url",
}

func readEntities(b *bin.Buffer) ([]entity, error) {
	if err := b.ConsumeID(idVector); err != nil {
		return nil, err
	}
	n, err := b.Int()
	if err != nil {
		return nil, err
	}
	out := make([]entity, 0, n)
	for i := 0; i < n; i++ {
		id, err := b.ID()
		if err != nil {
			return nil, err
		}
		e := entity{}
		if id == 0xf1ccaaac { // blockquote: flags first
			if _, err := b.Uint32(); err != nil {
				return nil, err
			}
			e.Type = "blockquote"
		}
		e.Offset, _ = b.Int32()
		e.Length, err = b.Int32()
		if err != nil {
			return nil, err
		}
		switch id {
		case 0x73924be0:
			e.Type = "pre"
			if _, err := b.String(); err != nil {
				return nil, err
			}
		case 0x76a6d327:
			e.Type = "text_link"
			if e.URL, err = b.String(); err != nil {
				return nil, err
			}
		case 0xf1ccaaac:
		default:
			name, ok := entityNames[id]
			if !ok {
				return nil, fmt.Errorf("message entity %#x not served", id)
			}
			e.Type = name
		}
		out = append(out, e)
	}
	return out, nil
}

func readReplyTo(b *bin.Buffer) (int32, error) {
	if err := b.ConsumeID(idInputReplyToMessage); err != nil {
		return 0, err
	}
	flags, err := b.Uint32()
	if err != nil {
		return 0, err
	}
	if flags != 0 {
		return 0, fmt.Errorf("inputReplyToMessage flags %#x not served", flags)
	}
	return b.Int32()
}

// --- SRP (https://core.telegram.org/api/srp), the server's side -------------

func sh(data, salt []byte) []byte {
	h := sha256.New()
	h.Write(salt)
	h.Write(data)
	h.Write(salt)
	return h.Sum(nil)
}

func hashAll(parts ...[]byte) []byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

func pad256(x *big.Int) []byte {
	out := make([]byte, 256)
	x.FillBytes(out)
	return out
}

func newSRP(password string) *srpState {
	salt1 := make([]byte, 40)
	salt2 := make([]byte, 16)
	_, _ = rand.Read(salt1)
	_, _ = rand.Read(salt2)
	p, _ := new(big.Int).SetString(srpPrimeHex, 16)
	g := big.NewInt(3)
	ph1 := sh(sh([]byte(password), salt1), salt2)
	dk, err := pbkdf2.Key(sha512.New, string(ph1), salt1, 100000, 64)
	if err != nil {
		panic(err)
	}
	x := new(big.Int).SetBytes(sh(dk, salt2))
	v := new(big.Int).Exp(g, x, p)
	k := new(big.Int).SetBytes(hashAll(pad256(p), pad256(g)))
	bb := make([]byte, 256)
	_, _ = rand.Read(bb)
	b := new(big.Int).SetBytes(bb)
	B := new(big.Int).Mul(k, v)
	B.Add(B, new(big.Int).Exp(g, b, p))
	B.Mod(B, p)
	var idb [8]byte
	_, _ = rand.Read(idb[:])
	return &srpState{salt1: salt1, salt2: salt2, v: v, b: b, B: B, id: int64(binary.LittleEndian.Uint64(idb[:]) >> 1)}
}

func (s *srpState) check(A []byte, m1 []byte) bool {
	p, _ := new(big.Int).SetString(srpPrimeHex, 16)
	g := big.NewInt(3)
	a := new(big.Int).SetBytes(A)
	if a.Sign() <= 0 || a.Cmp(p) >= 0 {
		return false
	}
	u := new(big.Int).SetBytes(hashAll(pad256(a), pad256(s.B)))
	S := new(big.Int).Exp(s.v, u, p)
	S.Mul(S, a)
	S.Exp(S, s.b, p)
	K := hashAll(pad256(S))
	hp, hg := hashAll(pad256(p)), hashAll(pad256(g))
	x := make([]byte, 32)
	for i := range x {
		x[i] = hp[i] ^ hg[i]
	}
	want := hashAll(x, hashAll(s.salt1), hashAll(s.salt2), pad256(a), pad256(s.B), K)
	return string(want) == string(m1)
}

// --- the API methods ---------------------------------------------------------

func rpcErr(code int, msg string) error { return tgerr.New(code, msg) }

func (s *state) handle(srv *tgtest.Server, req *tgtest.Request) error {
	id, err := req.Buf.ID()
	if err != nil {
		return err
	}
	key := req.Session.AuthKey.ID
	s.mu.Lock()
	s.sessions[key] = req.Session
	s.mu.Unlock()
	if id == idMsgsAck {
		return nil
	}
	name := methodName(id)
	s.mu.Lock()
	if secs, ok := s.flood[name]; ok {
		delete(s.flood, name)
		s.mu.Unlock()
		return rpcErr(420, fmt.Sprintf("FLOOD_WAIT_%d", secs))
	}
	authorized := s.authorized[key]
	s.mu.Unlock()
	now := int32(time.Now().Unix())
	b := req.Buf

	switch id {
	case idHelpGetConfig:
		return srv.SendResult(req, rawEncoder(func(o *bin.Buffer) {
			o.PutID(idConfig)
			o.PutUint32(0)
			o.PutInt32(now)
			o.PutInt32(now + 3600)
			o.PutID(idBoolFalse)
			o.PutInt32(2)
			o.PutID(idVector)
			o.PutInt(0)
			o.PutString("")
			for _, v := range []int32{200, 200000, 100, 120000, 5000, 30000, 30000, 30000, 1500, 60000, 2, 172800, 172800, 172800, 2419200, 200, 86400} {
				o.PutInt32(v)
			}
			for _, v := range []int32{20000, 90000, 30000, 10000} {
				o.PutInt32(v)
			}
			o.PutString("https://t.me/")
			for _, v := range []int32{1024, 4096, 4} {
				o.PutInt32(v)
			}
		}))

	case idAuthSendCode:
		phone, err := b.String()
		if err != nil {
			return err
		}
		apiID, _ := b.Int32()
		if apiID == 1 {
			return rpcErr(400, "API_ID_INVALID")
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if phone != s.phone {
			return rpcErr(400, "PHONE_NUMBER_INVALID")
		}
		s.sendCodes++
		hash := fmt.Sprintf("h%d", s.nextID())
		for h := range s.codeHashes {
			s.codeHashes[h] = true // a new code expires the older ones
		}
		s.codeHashes[hash] = false
		return srv.SendResult(req, rawEncoder(func(o *bin.Buffer) {
			o.PutID(idSentCode)
			o.PutUint32(1 << 2)
			o.PutID(idSentCodeTypeApp)
			o.PutInt32(int32(len(s.code)))
			o.PutString(hash)
			o.PutInt32(120)
		}))

	case idAuthSignIn:
		flags, _ := b.Uint32()
		phone, _ := b.String()
		hash, _ := b.String()
		code := ""
		if flags&1 != 0 {
			code, _ = b.String()
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		expired, known := s.codeHashes[hash]
		switch {
		case phone != s.phone:
			return rpcErr(400, "PHONE_NUMBER_INVALID")
		case !known:
			return rpcErr(400, "PHONE_CODE_HASH_EMPTY")
		case expired:
			return rpcErr(400, "PHONE_CODE_EXPIRED")
		case code != s.code:
			return rpcErr(400, "PHONE_CODE_INVALID")
		}
		delete(s.codeHashes, hash)
		if s.password != "" {
			s.awaiting[key] = true
			return rpcErr(401, "SESSION_PASSWORD_NEEDED")
		}
		s.authorized[key] = true
		return srv.SendResult(req, s.authorization())

	case idAccountGetPassword:
		s.mu.Lock()
		defer s.mu.Unlock()
		salt := make([]byte, 32)
		_, _ = rand.Read(salt)
		return srv.SendResult(req, rawEncoder(func(o *bin.Buffer) {
			o.PutID(idAccountPassword)
			if s.srp == nil {
				o.PutUint32(0)
			} else {
				o.PutUint32(1<<2 | 1<<3)
				putKdfAlgo(o, s.srp.salt1, s.srp.salt2)
				o.PutBytes(pad256(s.srp.B))
				o.PutLong(s.srp.id)
				o.PutString("pet")
			}
			putKdfAlgo(o, salt, salt[:16])
			o.PutID(idSecureKdfUnknown)
			o.PutBytes(salt)
		}))

	case idAuthCheckPassword:
		if err := b.ConsumeID(idInputCheckPassword); err != nil {
			return err
		}
		srpID, _ := b.Long()
		A, _ := b.Bytes()
		m1, err := b.Bytes()
		if err != nil {
			return err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.srp == nil || !s.awaiting[key] {
			return rpcErr(400, "PASSWORD_HASH_INVALID")
		}
		if srpID != s.srp.id {
			return rpcErr(400, "SRP_ID_INVALID")
		}
		if !s.srp.check(A, m1) {
			return rpcErr(400, "PASSWORD_HASH_INVALID")
		}
		delete(s.awaiting, key)
		s.authorized[key] = true
		return srv.SendResult(req, s.authorization())

	case idAuthLogOut:
		s.mu.Lock()
		delete(s.authorized, key)
		s.logOuts++
		s.mu.Unlock()
		return srv.SendResult(req, rawEncoder(func(o *bin.Buffer) { o.PutID(idAuthLoggedOut); o.PutUint32(0) }))

	case idUpdatesGetState:
		if !authorized {
			return rpcErr(401, "AUTH_KEY_UNREGISTERED")
		}
		s.mu.Lock()
		pts := s.pts
		s.mu.Unlock()
		return srv.SendResult(req, rawEncoder(func(o *bin.Buffer) {
			o.PutID(idUpdatesState)
			o.PutInt(pts)
			o.PutInt(0)
			o.PutInt32(now)
			o.PutInt(0)
			o.PutInt(0)
		}))

	case idUpdatesGetDiff:
		return srv.SendResult(req, rawEncoder(func(o *bin.Buffer) { o.PutID(idDifferenceEmpty); o.PutInt32(now); o.PutInt(0) }))
	}

	// The rest needs a signed-in session.
	if !authorized {
		return rpcErr(401, "AUTH_KEY_UNREGISTERED")
	}
	s.mu.Lock()
	me := s.me
	s.mu.Unlock()
	switch id {
	case idUsersGetUsers:
		return srv.SendResult(req, rawEncoder(func(o *bin.Buffer) {
			o.PutID(idVector)
			o.PutInt(1)
			s.mu.Lock()
			putUser(o, s.me, true, s.phone[1:])
			s.mu.Unlock()
		}))

	case idSendMessage, idSendMedia:
		flags, _ := b.Uint32()
		peer, err := readPeer(b, me.ID)
		if err != nil {
			return rpcErr(400, "PEER_ID_INVALID")
		}
		rec := sent{Method: "sendMessage", Peer: peer, NoPreview: flags&(1<<1) != 0}
		if flags&1 != 0 {
			if rec.ReplyTo, err = readReplyTo(b); err != nil {
				return err
			}
		}
		if id == idSendMedia {
			rec.Method = "sendMedia"
			mid, _ := b.ID()
			switch mid {
			case idMediaPhotoExternal:
				rec.Media = "photo"
			case idMediaDocExternal:
				rec.Media = "document"
			default:
				return rpcErr(400, "MEDIA_INVALID")
			}
			mflags, _ := b.Uint32()
			rec.URL, _ = b.String()
			if mflags&1 != 0 {
				_, _ = b.Int32()
			}
			if mflags&^uint32(3) != 0 {
				return fmt.Errorf("input media flags %#x not served", mflags)
			}
		}
		rec.Text, _ = b.String()
		randomID, err := b.Long()
		if err != nil {
			return err
		}
		if flags&(1<<2) != 0 {
			return rpcErr(400, "REPLY_MARKUP_INVALID") // Telegram ignores or refuses reply markup from user accounts
		}
		if flags&(1<<3) != 0 {
			if rec.Entities, err = readEntities(b); err != nil {
				return err
			}
		}
		s.mu.Lock()
		if peer == "666" {
			s.mu.Unlock()
			return rpcErr(400, "USER_IS_BLOCKED")
		}
		rec.ID = s.nextID()
		s.pts++
		pts := s.pts
		s.sent = append(s.sent, rec)
		s.mu.Unlock()
		if id == idSendMessage {
			return srv.SendResult(req, rawEncoder(func(o *bin.Buffer) {
				o.PutID(idShortSentMessage)
				o.PutUint32(0)
				o.PutInt32(rec.ID)
				o.PutInt(pts)
				o.PutInt(1)
				o.PutInt32(now)
			}))
		}
		return srv.SendResult(req, rawEncoder(func(o *bin.Buffer) {
			o.PutID(idUpdates)
			o.PutID(idVector)
			o.PutInt(2)
			o.PutID(idUpdateMessageID)
			o.PutInt32(rec.ID)
			o.PutLong(randomID)
			o.PutID(idUpdateNewMessage)
			putMessage(o, rec.ID, true, me.ID, peer, rec.ReplyTo, now, rec.Text, 0)
			o.PutInt(pts)
			o.PutInt(1)
			o.PutID(idVector)
			o.PutInt(0)
			o.PutID(idVector)
			o.PutInt(0)
			o.PutInt32(now)
			o.PutInt(0)
		}))

	case idEditMessage:
		flags, _ := b.Uint32()
		peer, err := readPeer(b, me.ID)
		if err != nil {
			return rpcErr(400, "PEER_ID_INVALID")
		}
		msgID, _ := b.Int32()
		rec := sent{Method: "editMessage", Peer: peer, ID: msgID, NoPreview: flags&(1<<1) != 0}
		if flags&(1<<11) != 0 {
			rec.Text, _ = b.String()
		}
		if flags&(1<<14|1<<2) != 0 {
			return rpcErr(400, "MEDIA_INVALID")
		}
		if flags&(1<<3) != 0 {
			if rec.Entities, err = readEntities(b); err != nil {
				return err
			}
		}
		s.mu.Lock()
		known := false
		for _, m := range s.sent {
			if m.Peer == peer && m.ID == msgID {
				known = true
			}
		}
		if !known {
			s.mu.Unlock()
			return rpcErr(400, "MESSAGE_ID_INVALID")
		}
		s.pts++
		pts := s.pts
		s.sent = append(s.sent, rec)
		s.mu.Unlock()
		return srv.SendResult(req, rawEncoder(func(o *bin.Buffer) {
			o.PutID(idUpdates)
			o.PutID(idVector)
			o.PutInt(1)
			o.PutID(idUpdateEditMessage)
			putMessage(o, msgID, true, me.ID, peer, 0, now, rec.Text, now)
			o.PutInt(pts)
			o.PutInt(1)
			o.PutID(idVector)
			o.PutInt(0)
			o.PutID(idVector)
			o.PutInt(0)
			o.PutInt32(now)
			o.PutInt(0)
		}))

	case idSetTyping:
		flags, _ := b.Uint32()
		peer, err := readPeer(b, me.ID)
		if err != nil {
			return rpcErr(400, "PEER_ID_INVALID")
		}
		if flags&1 != 0 {
			_, _ = b.Int32()
		}
		action, _ := b.ID()
		if action != idTypingAction {
			return rpcErr(400, "ACTION_INVALID")
		}
		s.mu.Lock()
		s.sent = append(s.sent, sent{Method: "setTyping", Peer: peer})
		s.mu.Unlock()
		return srv.SendResult(req, rawEncoder(func(o *bin.Buffer) { o.PutID(idBoolTrue) }))
	}
	return rpcErr(400, fmt.Sprintf("METHOD_NOT_SERVED_%X", id))
}

func methodName(id uint32) string {
	return map[uint32]string{
		idAuthSendCode: "auth.sendCode", idAuthSignIn: "auth.signIn", idAuthCheckPassword: "auth.checkPassword",
		idSendMessage: "messages.sendMessage", idSendMedia: "messages.sendMedia", idEditMessage: "messages.editMessage",
		idSetTyping: "messages.setTyping", idUsersGetUsers: "users.getUsers",
	}[id]
}

func (s *state) authorization() bin.Encoder {
	me, phone := s.me, s.phone[1:]
	return rawEncoder(func(o *bin.Buffer) {
		o.PutID(idAuthAuthorization)
		o.PutUint32(0)
		putUser(o, me, true, phone)
	})
}

// --- updates pushed to the client ---------------------------------------------

type incoming struct {
	From    userInfo `json:"from"`
	Text    string   `json:"text"`
	ReplyTo int32    `json:"replyTo,omitempty"`
	// Group: a basic group's id (the message then comes from `from` in chat -{group}).
	Group      int64  `json:"group,omitempty"`
	GroupTitle string `json:"groupTitle,omitempty"`
	Edit       int32  `json:"edit,omitempty"`
}

func (s *state) push(in incoming) (int32, int, error) {
	s.mu.Lock()
	id := in.Edit
	if id == 0 {
		id = s.nextID()
	}
	s.pts++
	pts := s.pts
	var targets []tgtest.Session
	for k, sess := range s.sessions {
		if s.authorized[k] {
			targets = append(targets, sess)
		}
	}
	s.mu.Unlock()
	now := int32(time.Now().Unix())
	peer := fmt.Sprint(in.From.ID)
	if in.Group != 0 {
		peer = fmt.Sprintf("-%d", in.Group)
	}
	enc := rawEncoder(func(o *bin.Buffer) {
		o.PutID(idUpdates)
		o.PutID(idVector)
		o.PutInt(1)
		edit := int32(0)
		if in.Edit != 0 {
			o.PutID(idUpdateEditMessage)
			edit = now
		} else {
			o.PutID(idUpdateNewMessage)
		}
		putMessage(o, id, false, in.From.ID, peer, in.ReplyTo, now, in.Text, edit)
		o.PutInt(pts)
		o.PutInt(1)
		o.PutID(idVector)
		o.PutInt(1)
		putUser(o, in.From, false, "")
		o.PutID(idVector)
		if in.Group != 0 {
			o.PutInt(1)
			o.PutID(idChat)
			o.PutUint32(0)
			o.PutLong(in.Group)
			o.PutString(in.GroupTitle)
			o.PutID(idChatPhotoEmpty)
			o.PutInt32(3)
			o.PutInt32(now)
			o.PutInt32(1)
		} else {
			o.PutInt(0)
		}
		o.PutInt32(now)
		o.PutInt(0)
	})
	n := 0
	for _, sess := range targets {
		if err := s.srv.Send(context.Background(), sess, tgtest.MessageFromServer, enc); err == nil {
			n++
		}
	}
	return id, n, nil
}

// --- control API -----------------------------------------------------------------

func (s *state) control() http.Handler {
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, v any) {
		w.Header().Set("content-type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("POST /account", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Phone    string   `json:"phone"`
			Code     string   `json:"code"`
			Password string   `json:"password"`
			Me       userInfo `json:"me"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		var srp *srpState
		if body.Password != "" {
			srp = newSRP(body.Password)
		}
		s.mu.Lock()
		s.phone, s.code, s.password, s.srp, s.me = body.Phone, body.Code, body.Password, srp, body.Me
		s.mu.Unlock()
		reply(w, map[string]bool{"ok": true})
	})
	mux.HandleFunc("POST /flood", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Method  string `json:"method"`
			Seconds int    `json:"seconds"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		s.mu.Lock()
		s.flood[body.Method] = body.Seconds
		s.mu.Unlock()
		reply(w, map[string]bool{"ok": true})
	})
	mux.HandleFunc("POST /incoming", func(w http.ResponseWriter, r *http.Request) {
		var body incoming
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		id, n, err := s.push(body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		reply(w, map[string]any{"id": id, "delivered": n})
	})
	mux.HandleFunc("GET /state", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		reply(w, map[string]any{"sent": s.sent, "authorized": len(s.authorized), "sendCodes": s.sendCodes, "logOuts": s.logOuts})
	})
	return mux
}

func main() {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	// GramJS's StringSession stores the port as a signed 16-bit number: stay under 32768.
	var ln net.Listener
	for p := 20000 + os.Getpid()%12000; ; p++ {
		if ln, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
			break
		}
		if p > 32700 {
			p = 10000
		}
	}
	ctl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	logger := zap.NewNop()
	if os.Getenv("MTPROTO_TEST_SERVER_DEBUG") != "" {
		logger, _ = zap.NewDevelopment()
	}
	s := &state{codeHashes: map[string]bool{}, authorized: map[[8]byte]bool{}, awaiting: map[[8]byte]bool{}, sessions: map[[8]byte]tgtest.Session{}, flood: map[string]int{}, phone: "+0"}
	s.srv = tgtest.NewServer(tgtest.NewPrivateKey(key), tgtest.UnpackInvoke(tgtest.HandlerFunc(s.handle)), tgtest.ServerOptions{DC: 2, Logger: logger})
	pub := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&key.PublicKey)})
	line, _ := json.Marshal(map[string]any{"port": ln.Addr().(*net.TCPAddr).Port, "control": ctl.Addr().(*net.TCPAddr).Port, "dc": 2, "publicKey": string(pub)})
	fmt.Println(string(line))
	go func() { _ = http.Serve(ctl, s.control()) }()
	// Ends with its parent: the harness closes our stdin.
	go func() {
		buf := make([]byte, 1)
		for {
			if _, err := os.Stdin.Read(buf); err != nil {
				os.Exit(0)
			}
		}
	}()
	if err := s.srv.Serve(context.Background(), transport.Listen(ln)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
